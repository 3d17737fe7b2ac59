"""Cover images are judged by their bytes, and stored without EXIF or GPS data."""

from __future__ import annotations

import io
import struct
import zlib

import pytest
from PIL import ExifTags, Image, PngImagePlugin

from giving.campaigns.uploads import MAX_DIMENSION, clean_cover_image
from giving.errors import ValidationError
from tests.campaigns.factories import image_bytes

LIMIT = 5 * 1024 * 1024


def photo_with_location() -> bytes:
    """A phone-like JPEG: maker, rotation and the GPS position of where it was taken."""
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "PhoneMaker"
    exif[ExifTags.Base.Orientation] = 6  # rotate 90° when shown
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef] = "N"
    gps[ExifTags.GPS.GPSLatitude] = (27.0, 53.0, 12.0)
    gps[ExifTags.GPS.GPSLongitudeRef] = "E"
    gps[ExifTags.GPS.GPSLongitude] = (102.0, 15.0, 40.0)
    buffer = io.BytesIO()
    Image.new("RGB", (80, 40), (10, 120, 200)).save(buffer, "JPEG", exif=exif)
    return buffer.getvalue()


def png_declaring(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims another size (what a decompression bomb does)."""
    data = bytearray(image_bytes("PNG", (1, 1)))
    ihdr_start = 8 + 4 + 4  # signature, chunk length, chunk type
    data[ihdr_start : ihdr_start + 8] = struct.pack(">II", width, height)
    crc = zlib.crc32(bytes(data[12 : ihdr_start + 13]))
    data[ihdr_start + 13 : ihdr_start + 17] = struct.pack(">I", crc)
    return bytes(data)


def test_a_photo_loses_its_location_but_keeps_its_orientation() -> None:
    original = photo_with_location()
    assert b"PhoneMaker" in original
    clean = clean_cover_image(original, max_bytes=LIMIT)
    assert clean.content_type == "image/jpeg"
    assert clean.suffix == ".jpg"
    assert b"PhoneMaker" not in clean.data
    stored = Image.open(io.BytesIO(clean.data))
    assert dict(stored.getexif()) == {}
    assert "exif" not in stored.info
    # The 80×40 photo was taken sideways; the pixels are turned, not just the tag dropped.
    assert stored.size == (40, 80)


def test_png_text_chunks_are_dropped_and_transparency_kept() -> None:
    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", "taken at Liangshan primary school")
    buffer = io.BytesIO()
    Image.new("RGBA", (30, 20), (0, 0, 0, 0)).save(buffer, "PNG", pnginfo=info)
    clean = clean_cover_image(buffer.getvalue(), max_bytes=LIMIT)
    assert clean.content_type == "image/png"
    assert b"Liangshan" not in clean.data
    assert Image.open(io.BytesIO(clean.data)).mode == "RGBA"


def test_webp_is_accepted() -> None:
    clean = clean_cover_image(image_bytes("WEBP"), max_bytes=LIMIT)
    assert (clean.suffix, clean.content_type) == (".webp", "image/webp")


def test_large_photos_are_scaled_down_for_storage() -> None:
    clean = clean_cover_image(image_bytes("JPEG", (4000, 3000)), max_bytes=LIMIT)
    assert (clean.width, clean.height) == (1600, 1200)


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(b"this is not an image, whatever the name says", id="text-named-png"),
        pytest.param(image_bytes("GIF", mode="P"), id="gif"),
        pytest.param(image_bytes("BMP"), id="bmp"),
        pytest.param(b"%PDF-1.7\n" + b"0" * 100, id="pdf"),
    ],
)
def test_files_that_are_not_jpeg_png_or_webp_are_refused(data: bytes) -> None:
    with pytest.raises(ValidationError) as caught:
        clean_cover_image(data, max_bytes=LIMIT)
    assert caught.value.field == "cover"
    assert "JPEG, PNG or WebP" in caught.value.message


def test_a_damaged_image_is_refused() -> None:
    whole = image_bytes("PNG", (200, 200))
    with pytest.raises(ValidationError, match="not a readable"):
        clean_cover_image(whole[: len(whole) // 2], max_bytes=LIMIT)


def test_a_file_over_the_size_limit_is_refused_before_decoding() -> None:
    six_mib = b"\xff\xd8\xff" + b"\0" * (6 * 1024 * 1024)
    with pytest.raises(ValidationError, match="under 5 MB") as caught:
        clean_cover_image(six_mib, max_bytes=LIMIT)
    assert caught.value.field == "cover"


def test_an_image_larger_than_6000_pixels_a_side_is_refused() -> None:
    with pytest.raises(ValidationError, match="6000"):
        clean_cover_image(image_bytes("PNG", (MAX_DIMENSION + 1, 2), mode="L"), max_bytes=LIMIT)


@pytest.mark.parametrize(
    ("width", "height"),
    [
        pytest.param(10_000, 10_000, id="over-pillow-limit-warns"),
        pytest.param(40_000, 40_000, id="over-twice-the-limit-errors"),
    ],
)
def test_a_decompression_bomb_is_refused_without_decoding_it(width: int, height: int) -> None:
    # A few bytes that claim 100 million pixels or more. Pillow warns (or, far over its
    # limit, raises) while reading the header; both become a refusal, before any decoding.
    bomb = png_declaring(width, height)
    assert len(bomb) < 100
    with pytest.raises(ValidationError, match="too many pixels") as caught:
        clean_cover_image(bomb, max_bytes=LIMIT)
    assert caught.value.field == "cover"


def test_an_empty_file_is_refused() -> None:
    with pytest.raises(ValidationError, match="empty"):
        clean_cover_image(b"", max_bytes=LIMIT)
