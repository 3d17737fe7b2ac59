"""A published redacted PDF carries no metadata: no author, creator or producer, no XMP, and
not the earlier revision an incremental save keeps; and it still opens and reads the same."""

from __future__ import annotations

import io
import subprocess
from pathlib import Path

import pytest
from pypdf import PdfWriter
from sqlalchemy.orm import Session
from weasyprint import HTML

from giving.disbursements import services
from giving.disbursements.evidence import check_evidence_file, publishable_copy
from giving.errors import ValidationError
from tests.disbursements.support import Story, upload

XMP = (
    b'<?xpacket begin="" id="W5M0MpCehiHzreSzNTczkc9d"?>'
    b'<x:xmpmeta xmlns:x="adobe:ns:meta/">'
    b'<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
    b'<rdf:Description rdf:about="" xmlns:dc="http://purl.org/dc/elements/1.1/">'
    b"<dc:creator><rdf:Seq><rdf:li>Wang Xiaoming</rdf:li></rdf:Seq></dc:creator>"
    b"</rdf:Description></rdf:RDF></x:xmpmeta>"
    b'<?xpacket end="w"?>'
)


def redacted_receipt() -> bytes:
    """A receipt saved twice: the first revision's document information names its author,
    and an incremental save on top adds a creator, the author again and XMP metadata; the
    first revision stays in the file, as it does after many a "redaction"."""
    original = HTML(
        string=(
            "<html><head><title>Receipt</title><meta name=author content='Wang Xiaoming'>"
            "</head><body><p>Receipt 42 yuan</p><p>Home address 12 Hill Road</p></body></html>"
        )
    ).write_pdf()
    assert original is not None
    writer = PdfWriter(io.BytesIO(original), incremental=True)
    writer.add_metadata({"/Author": "Wang Xiaoming", "/Creator": "Phone Scanner 3.1"})
    writer.xmp_metadata = XMP
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def pdfinfo(path: Path, *options: str) -> str:
    result = subprocess.run(
        ["pdfinfo", *options, str(path)], capture_output=True, text=True, check=True
    )
    return result.stdout


def test_the_published_copy_of_a_pdf_has_no_metadata_and_still_opens(tmp_path: Path) -> None:
    data = redacted_receipt()
    before = tmp_path / "before.pdf"
    before.write_bytes(data)
    assert "Wang Xiaoming" in pdfinfo(before)
    assert "Metadata Stream: yes" in pdfinfo(before)

    copy = publishable_copy(check_evidence_file(data, "receipt.pdf"))
    after = tmp_path / "after.pdf"
    after.write_bytes(copy.data)
    info = pdfinfo(after)
    for key in ("Author:", "Creator:", "Producer:", "Title:"):
        assert key not in info
    assert "Metadata Stream: no" in info
    assert "Pages:           1" in info
    assert pdfinfo(after, "-meta").strip() == ""
    assert b"Wang Xiaoming" not in copy.data
    assert b"Phone Scanner" not in copy.data
    text = subprocess.run(
        ["pdftotext", str(after), "-"], capture_output=True, text=True, check=True
    ).stdout
    assert "Receipt 42 yuan" in text


def test_publishing_a_redacted_pdf_stores_the_clean_copy(session: Session, story: Story) -> None:
    evidence = story.request().evidence[0]
    services.publish_redacted(
        session,
        actor=story.organiser,
        evidence=evidence,
        upload=upload(redacted_receipt(), "receipt-redacted.pdf"),
        storage=story.storage,
    )
    published = story.storage.read(evidence.redacted_key or "")
    assert b"Wang Xiaoming" not in published
    assert b"/Metadata" not in published
    assert evidence.redacted_size_bytes == len(published)


def test_an_encrypted_pdf_is_not_published() -> None:
    writer = PdfWriter()
    writer.add_blank_page(200, 200)
    writer.encrypt("secret")
    out = io.BytesIO()
    writer.write(out)
    with pytest.raises(ValidationError, match="encrypted"):
        publishable_copy(check_evidence_file(out.getvalue(), "locked.pdf"))
