"""Cover images: checked by content, never by name, and re-encoded without metadata.

A photo taken on a phone carries EXIF, often with GPS coordinates; on a campaign for children
that could point to where they live. So every accepted image is decoded and written out again
from its pixels alone, and only that clean copy is stored. Decoding untrusted images is also
where decompression bombs live: the declared size is checked before any pixel is decoded, and
Pillow's own bomb warning is turned into a refusal.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass

from flask_babel import gettext as _
from PIL import Image, ImageOps, UnidentifiedImageError

from giving.errors import ValidationError

MAX_DIMENSION = 6000
# Stored covers are scaled down to this box: enough for a wide page, small for phones.
STORED_MAX_DIMENSION = 1600

# Pillow format name → (file suffix, content type). Nothing else is even tried as a decoder.
ACCEPTED_FORMATS: dict[str, tuple[str, str]] = {
    "JPEG": (".jpg", "image/jpeg"),
    "PNG": (".png", "image/png"),
    "WEBP": (".webp", "image/webp"),
}
CONTENT_TYPES: dict[str, str] = dict(ACCEPTED_FORMATS.values())

_DECODE_ERRORS = (
    UnidentifiedImageError,
    OSError,
    SyntaxError,
    ValueError,
    EOFError,
)


@dataclass(frozen=True, slots=True)
class CleanImage:
    """A re-encoded image ready to store: no EXIF, no GPS, no text chunks."""

    data: bytes
    suffix: str
    content_type: str
    width: int
    height: int


def content_type_for(key: str) -> str:
    """The content type to serve a stored cover with, from the suffix this module chose."""
    for suffix, content_type in CONTENT_TYPES.items():
        if key.endswith(suffix):
            return content_type
    return "application/octet-stream"


def _megabytes(size: int) -> str:
    return f"{size / (1024 * 1024):.0f}"


def clean_cover_image(data: bytes, *, max_bytes: int, field: str = "cover") -> CleanImage:
    """Validate an uploaded cover by its content and return a metadata-free copy.

    Raises ``ValidationError`` (on ``field``) for anything too big, not an image, not JPEG,
    PNG or WebP, damaged, or with more than 6000 pixels on a side.
    """
    if len(data) > max_bytes:
        raise ValidationError(
            _(
                "The image is too large: choose one under %(limit)s MB.",
                limit=_megabytes(max_bytes),
            ),
            field=field,
        )
    if not data:
        raise ValidationError(_("The chosen file is empty."), field=field)
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            image_format = _verify(data, field)
            image = _decode(data, field)
            return _reencode(image, image_format)
        except ValidationError:
            raise
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise ValidationError(
                _(
                    "The image has too many pixels; the most we accept is %(max)s×%(max)s.",
                    max=MAX_DIMENSION,
                ),
                field=field,
            ) from None
        except _DECODE_ERRORS:
            raise ValidationError(
                _("That file is not a readable JPEG, PNG or WebP image."), field=field
            ) from None


def _unsupported(field: str) -> ValidationError:
    return ValidationError(
        _("Upload a photo in JPEG, PNG or WebP format (other file types are not accepted)."),
        field=field,
    )


def _check_dimensions(image: Image.Image, field: str) -> None:
    width, height = image.size
    if width > MAX_DIMENSION or height > MAX_DIMENSION:
        raise ValidationError(
            _(
                "The image is %(width)s×%(height)s pixels; the most we accept is %(max)s×%(max)s.",
                width=width,
                height=height,
                max=MAX_DIMENSION,
            ),
            field=field,
        )
    if width < 1 or height < 1:
        raise _unsupported(field)


def _verify(data: bytes, field: str) -> str:
    """Identify the format from the bytes and let Pillow check the file's structure."""
    try:
        probe = Image.open(io.BytesIO(data), formats=list(ACCEPTED_FORMATS))
    except UnidentifiedImageError:
        raise _unsupported(field) from None
    with probe:
        image_format = str(probe.format)
        if image_format not in ACCEPTED_FORMATS:
            raise _unsupported(field)
        _check_dimensions(probe, field)
        probe.verify()
    return image_format


def _decode(data: bytes, field: str) -> Image.Image:
    # verify() leaves the image unusable, so decode from a fresh open (as Pillow advises).
    image = Image.open(io.BytesIO(data), formats=list(ACCEPTED_FORMATS))
    _check_dimensions(image, field)
    image.load()
    return image


def _reencode(image: Image.Image, image_format: str) -> CleanImage:
    # Apply the EXIF orientation to the pixels before the EXIF is thrown away.
    image = ImageOps.exif_transpose(image)
    has_alpha = image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info
    if image_format == "JPEG":
        mode = "L" if image.mode == "L" else "RGB"
    else:
        mode = "RGBA" if has_alpha else "RGB"
    image = image.convert(mode)
    image.thumbnail((STORED_MAX_DIMENSION, STORED_MAX_DIMENSION))
    # A new image built from raw pixels carries no info dict, EXIF, XMP, ICC or text chunks.
    clean = Image.frombytes(image.mode, image.size, image.tobytes())
    out = io.BytesIO()
    if image_format == "JPEG":
        clean.save(out, format="JPEG", quality=85, optimize=True)
    elif image_format == "PNG":
        clean.save(out, format="PNG", optimize=True)
    else:
        clean.save(out, format="WEBP", quality=85)
    suffix, content_type = ACCEPTED_FORMATS[image_format]
    return CleanImage(out.getvalue(), suffix, content_type, clean.width, clean.height)
