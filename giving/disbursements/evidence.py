"""Evidence files: accepted by what their bytes are, never by what their name says.

An evidence file is a receipt or invoice: a PDF, or a JPEG, PNG or WebP photo. The type is
decided from the content (magic bytes), then confirmed by parsing: Pillow verifies and decodes
images (with its decompression-bomb check turned into a refusal), and PDFs must have a
header, an end-of-file marker and a ``startxref`` that points at a cross-reference table or
stream. PDFs with active content (JavaScript, launch actions, embedded files) are refused:
evidence is read by auditors and, redacted, by the public.

Originals are stored byte for byte, because the ledger commits to their SHA-256. Redacted
copies are published, so they are rewritten first: images are re-encoded from their pixels to
drop EXIF (and any GPS position that could lead to a child's home); PDFs are rewritten by
pypdf without their document information (author, creator, producer), XMP metadata and
application data, and without the earlier revisions an incremental save keeps, where the
unredacted text of a "redacted" PDF often still lies.
"""

from __future__ import annotations

import hashlib
import io
import re
import unicodedata
import warnings
from dataclasses import dataclass

from flask_babel import gettext as _
from PIL import Image, ImageOps, UnidentifiedImageError
from pypdf import PdfReader, PdfWriter
from pypdf.generic import ArrayObject, DictionaryObject, IndirectObject, NameObject, PdfObject

from giving.errors import ValidationError

MAX_EVIDENCE_BYTES = 10 * 1024 * 1024
MAX_FILES_PER_REQUEST = 5
MAX_DIMENSION = 10_000
FILENAME_MAX = 200

PDF = "application/pdf"
# Content type → (stored suffix, Pillow format or None for PDF).
ACCEPTED_TYPES: dict[str, tuple[str, str | None]] = {
    PDF: (".pdf", None),
    "image/jpeg": (".jpg", "JPEG"),
    "image/png": (".png", "PNG"),
    "image/webp": (".webp", "WEBP"),
}

_IMAGE_ERRORS = (
    UnidentifiedImageError,
    Image.DecompressionBombError,
    Image.DecompressionBombWarning,
    OSError,
    SyntaxError,
    ValueError,
    EOFError,
)
_PDF_HEADER = re.compile(rb"\A%PDF-(1\.[0-7]|2\.0)[\r\n \t%]")
_PDF_STARTXREF = re.compile(rb"startxref\s+(\d+)\s+%%EOF\s*\Z")
_PDF_XREF_AT = re.compile(rb"\s*(xref\b|\d+\s+\d+\s+obj\b)")
# "<number> <generation> " just before an "obj" keyword (matched on a short window only).
_PDF_OBJECT_BEFORE = re.compile(rb"(?<![0-9])[0-9]{1,10}[ \t\r\n]+[0-9]{1,5}[ \t\r\n]+\Z")
_PDF_NAME_ESCAPE = re.compile(rb"#([0-9A-Fa-f]{2})")
_PDF_ACTIVE = re.compile(
    rb"/(JavaScript|JS|Launch|EmbeddedFile|EmbeddedFiles|RichMedia|XFA|SubmitForm|ImportData)"
    rb"(?=[\s/<>\[\]()%]|\Z)"
)


# Dictionary entries that carry metadata or an application's private data, never content.
_PDF_METADATA_KEYS = (NameObject("/Metadata"), NameObject("/PieceInfo"))


@dataclass(frozen=True, slots=True)
class EvidenceUpload:
    """An uploaded file as received, and what the uploader declared it shows: whether it
    shows any child and, if so, the refs of the campaign's registered children in it."""

    data: bytes
    filename: str
    shows_children: bool = False
    children: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class CheckedFile:
    """An upload that passed the checks, with what the database records about it."""

    data: bytes
    filename: str
    content_type: str
    suffix: str
    sha256: str

    @property
    def size(self) -> int:
        return len(self.data)


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sniff_content_type(data: bytes) -> str | None:
    """The accepted type the bytes start like, or None."""
    if data.startswith(b"%PDF-"):
        return PDF
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None


def clean_filename(name: str) -> str:
    """The uploaded name without directories or control characters, for staff to read."""
    name = (name or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C").strip()
    return name[:FILENAME_MAX] or "evidence"


def _megabytes(size: int) -> str:
    return f"{size / (1024 * 1024):.0f}"


def check_evidence_file(
    data: bytes, filename: str, *, max_bytes: int = MAX_EVIDENCE_BYTES, field: str = "evidence"
) -> CheckedFile:
    """Accept ``data`` as evidence or raise ValidationError saying what is wrong with it."""
    shown = clean_filename(filename)
    if len(data) > max_bytes:
        raise ValidationError(
            _(
                "%(name)s is too large: evidence files must be under %(limit)s MB.",
                name=shown,
                limit=_megabytes(max_bytes),
            ),
            field=field,
        )
    if not data:
        raise ValidationError(_("%(name)s is empty.", name=shown), field=field)
    content_type = sniff_content_type(data)
    if content_type is None:
        raise ValidationError(
            _(
                "%(name)s is not a PDF, JPEG, PNG or WebP file (we check the contents, "
                "not the name).",
                name=shown,
            ),
            field=field,
        )
    suffix, image_format = ACCEPTED_TYPES[content_type]
    if image_format is None:
        _check_pdf(data, shown, field)
    else:
        _check_image(data, image_format, shown, field)
    return CheckedFile(
        data=data,
        filename=shown,
        content_type=content_type,
        suffix=suffix,
        sha256=sha256_hex(data),
    )


def _damaged(name: str, field: str) -> ValidationError:
    return ValidationError(
        _("%(name)s looks damaged or is not really the kind of file it starts like.", name=name),
        field=field,
    )


def _check_image(data: bytes, image_format: str, name: str, field: str) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            with Image.open(io.BytesIO(data), formats=[image_format]) as probe:
                _check_dimensions(probe, name, field)
                probe.verify()
            # verify() leaves the image unusable; decoding all pixels catches truncation.
            with Image.open(io.BytesIO(data), formats=[image_format]) as image:
                image.load()
        except ValidationError:
            raise
        except _IMAGE_ERRORS:
            raise _damaged(name, field) from None


def _check_dimensions(image: Image.Image, name: str, field: str) -> None:
    width, height = image.size
    if not (0 < width <= MAX_DIMENSION and 0 < height <= MAX_DIMENSION):
        raise ValidationError(
            _(
                "%(name)s is %(width)s×%(height)s pixels; the most we accept is %(max)s on a side.",
                name=name,
                width=width,
                height=height,
                max=MAX_DIMENSION,
            ),
            field=field,
        )


def _check_pdf(data: bytes, name: str, field: str) -> None:
    """A structural sanity check: enough to refuse renamed files and broken or active PDFs."""
    if not _PDF_HEADER.match(data):
        raise _damaged(name, field)
    tail = data[-2048:]
    found = _PDF_STARTXREF.search(tail)
    if found is None:
        raise _damaged(name, field)
    offset = int(found.group(1))
    if offset >= len(data) or not _PDF_XREF_AT.match(data, offset):
        raise _damaged(name, field)
    if not _has_object(data) or b"endobj" not in data:
        raise _damaged(name, field)
    # Names may hide letters as #xx escapes (/J#61vaScript); undo them before looking.
    plain = _PDF_NAME_ESCAPE.sub(lambda m: bytes([int(m.group(1), 16)]), data)
    active = _PDF_ACTIVE.search(plain)
    if active is not None:
        raise ValidationError(
            _(
                "%(name)s contains active content (%(what)s); print it to a plain PDF or "
                "photograph it instead.",
                name=name,
                what=active.group(1).decode("ascii"),
            ),
            field=field,
        )


def _has_object(data: bytes) -> bool:
    """Whether an indirect object ("12 0 obj") occurs; linear, unlike a regex over the file."""
    start = 0
    for _attempt in range(1000):
        found = data.find(b"obj", start)
        if found < 0:
            return False
        if _PDF_OBJECT_BEFORE.search(data, max(0, found - 32), found):
            return True
        start = found + 3
    return False


def publishable_copy(checked: CheckedFile, *, field: str = "file") -> CheckedFile:
    """The bytes to publish for a redacted copy: images re-encoded and PDFs rewritten, both
    without any metadata."""
    _suffix, image_format = ACCEPTED_TYPES[checked.content_type]
    if image_format is None:
        return _pdf_without_metadata(checked, field)
    with Image.open(io.BytesIO(checked.data), formats=[image_format]) as opened:
        image = ImageOps.exif_transpose(opened)
        has_alpha = image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info
        if image_format == "JPEG":
            mode = "L" if image.mode == "L" else "RGB"
        else:
            mode = "RGBA" if has_alpha else "RGB"
        image = image.convert(mode)
        # Built from raw pixels, the new image has no EXIF, XMP, ICC profile or text chunks.
        clean = Image.frombytes(image.mode, image.size, image.tobytes())
    out = io.BytesIO()
    if image_format == "JPEG":
        clean.save(out, format="JPEG", quality=90)
    elif image_format == "PNG":
        clean.save(out, format="PNG", optimize=True)
    else:
        clean.save(out, format="WEBP", quality=90)
    data = out.getvalue()
    return CheckedFile(
        data=data,
        filename=checked.filename,
        content_type=checked.content_type,
        suffix=checked.suffix,
        sha256=sha256_hex(data),
    )


def _pdf_without_metadata(checked: CheckedFile, field: str) -> CheckedFile:
    try:
        reader = PdfReader(io.BytesIO(checked.data), strict=False)
        if reader.is_encrypted:
            raise ValidationError(
                _(
                    "%(name)s is encrypted; publish a copy without a password.",
                    name=checked.filename,
                ),
                field=field,
            )
        writer = PdfWriter(clone_from=reader)
        writer.metadata = None
        _strip_metadata(writer.root_object)
        # What no longer hangs off the document (the metadata just cut loose) is not written.
        writer.compress_identical_objects(remove_duplicates=False, remove_unreferenced=True)
        out = io.BytesIO()
        writer.write(out)
    except ValidationError:
        raise
    except Exception:  # a broken or hostile PDF can make a parser raise almost anything
        raise _damaged(checked.filename, field) from None
    data = out.getvalue()
    # What pypdf wrote must pass the same checks as an upload before anyone downloads it.
    return check_evidence_file(
        data, checked.filename, max_bytes=max(len(data), MAX_EVIDENCE_BYTES), field=field
    )


def _strip_metadata(root: PdfObject) -> None:
    """Remove metadata entries from every dictionary and stream reachable from ``root``."""
    seen: set[tuple[int, int]] = set()
    todo: list[PdfObject] = [root]
    while todo:
        item = todo.pop()
        if isinstance(item, IndirectObject):
            if (item.idnum, item.generation) in seen:
                continue
            seen.add((item.idnum, item.generation))
            target = item.get_object()
            if target is not None:
                todo.append(target)
        elif isinstance(item, DictionaryObject):
            for key in _PDF_METADATA_KEYS:
                item.pop(key, None)
            todo.extend(item.values())
        elif isinstance(item, ArrayObject):
            todo.extend(item)
