"""Evidence files are judged by their bytes: what a name claims never gets a file in."""

from __future__ import annotations

import io
import time

import pytest
from PIL import Image

from giving.disbursements.evidence import (
    check_evidence_file,
    clean_filename,
    publishable_copy,
    sha256_hex,
)
from giving.errors import ValidationError
from tests.disbursements.support import image_bytes, pdf_bytes


@pytest.mark.parametrize(
    ("data", "name", "content_type", "suffix"),
    [
        (pdf_bytes(), "invoice.pdf", "application/pdf", ".pdf"),
        (image_bytes("JPEG"), "receipt.jpg", "image/jpeg", ".jpg"),
        (image_bytes("PNG"), "receipt.png", "image/png", ".png"),
        (image_bytes("WEBP"), "receipt.webp", "image/webp", ".webp"),
    ],
)
def test_pdfs_and_photos_are_accepted_and_fingerprinted(
    data: bytes, name: str, content_type: str, suffix: str
) -> None:
    checked = check_evidence_file(data, name)
    assert checked.content_type == content_type
    assert checked.suffix == suffix
    assert checked.sha256 == sha256_hex(data)
    assert checked.data == data  # originals are kept byte for byte


def test_the_content_decides_the_type_whatever_the_name_says() -> None:
    checked = check_evidence_file(image_bytes("PNG"), "scan.pdf")
    assert checked.content_type == "image/png"
    assert checked.suffix == ".png"


@pytest.mark.parametrize(
    ("data", "name"),
    [
        (b"MZ\x90\x00" + b"\x00" * 200, "invoice.pdf"),  # a Windows program renamed
        (b"<html><script>alert(1)</script></html>", "receipt.png"),
        (b"PK\x03\x04" + b"\x00" * 100, "receipt.jpg"),  # a zip archive
        (b"GIF89a" + b"\x00" * 100, "photo.gif"),  # a real type we do not accept
    ],
)
def test_a_file_that_is_not_what_its_name_says_is_refused(data: bytes, name: str) -> None:
    with pytest.raises(ValidationError, match="not a PDF, JPEG, PNG or WebP") as caught:
        check_evidence_file(data, name)
    assert caught.value.field == "evidence"


def test_a_file_that_starts_like_an_image_but_is_not_one_is_refused() -> None:
    with pytest.raises(ValidationError, match="damaged"):
        check_evidence_file(b"\x89PNG\r\n\x1a\n" + b"garbage" * 50, "receipt.png")
    truncated = image_bytes("JPEG")[:200]
    with pytest.raises(ValidationError, match="damaged"):
        check_evidence_file(truncated, "receipt.jpg")


def test_a_pdf_header_on_anything_else_is_refused() -> None:
    with pytest.raises(ValidationError, match="damaged"):
        check_evidence_file(b"%PDF-1.4\nnot really a pdf at all\n", "invoice.pdf")
    good = pdf_bytes()
    broken_xref = good.replace(b"startxref\n", b"startxref\n9").rstrip()
    with pytest.raises(ValidationError, match="damaged"):
        check_evidence_file(broken_xref, "invoice.pdf")
    with pytest.raises(ValidationError, match="damaged"):
        check_evidence_file(good[: len(good) // 2], "invoice.pdf")


@pytest.mark.parametrize("action", [b"/JavaScript", b"/J#61vaScript", b"/Launch", b"/JS"])
def test_pdfs_with_active_content_are_refused(action: bytes) -> None:
    data = pdf_bytes(catalog_extra=b"/OpenAction << /S " + action + b" >> ")
    assert check_evidence_file(pdf_bytes(catalog_extra=b"/OpenAction << /S /GoTo >> "), "x.pdf")
    with pytest.raises(ValidationError, match="active content"):
        check_evidence_file(data, "invoice.pdf")


def test_files_over_the_limit_and_empty_files_are_refused() -> None:
    data = pdf_bytes()
    with pytest.raises(ValidationError, match="too large"):
        check_evidence_file(data, "invoice.pdf", max_bytes=len(data) - 1)
    assert check_evidence_file(data, "invoice.pdf", max_bytes=len(data))
    with pytest.raises(ValidationError, match="empty"):
        check_evidence_file(b"", "invoice.pdf")


def test_hostile_pdf_bodies_are_checked_in_linear_time() -> None:
    # Nearly ten megabytes of digits and no object: a naive regex would take hours.
    digits = b"1" * (10 * 1024 * 1024 - 100)
    data = b"%PDF-1.4\nxref\n" + digits + b"\ntrailer\nstartxref\n9\n%%EOF\n"
    started = time.monotonic()
    with pytest.raises(ValidationError, match="damaged"):
        check_evidence_file(data, "big.pdf")
    assert time.monotonic() - started < 5


def test_filenames_lose_directories_and_control_characters() -> None:
    assert clean_filename("C:\\Users\\li\\收据.pdf") == "收据.pdf"
    assert clean_filename("../../etc/passwd\x00\n") == "passwd"
    assert clean_filename("") == "evidence"


def test_published_photos_carry_no_location_data() -> None:
    exif = Image.Exif()
    exif[0x8825] = {2: (30.0, 40.0, 0.0), 1: "N"}  # GPSInfo: where the photo was taken
    exif[0x010F] = "PhoneMaker"
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), (10, 200, 10)).save(buffer, "JPEG", exif=exif.tobytes())
    original = check_evidence_file(buffer.getvalue(), "photo.jpg")
    assert Image.open(io.BytesIO(original.data)).getexif()  # the original keeps it (private)
    copy = publishable_copy(original)
    reopened = Image.open(io.BytesIO(copy.data))
    assert not reopened.getexif()
    assert "exif" not in reopened.info
    assert copy.sha256 == sha256_hex(copy.data) != original.sha256
    assert reopened.size == (64, 48)


def test_published_pdfs_are_rewritten_and_still_pass_the_checks() -> None:
    checked = check_evidence_file(pdf_bytes("redacted"), "redacted.pdf")
    copy = publishable_copy(checked)
    assert copy.content_type == "application/pdf"
    assert copy.data != checked.data
    assert check_evidence_file(copy.data, "copy.pdf").sha256 == copy.sha256
