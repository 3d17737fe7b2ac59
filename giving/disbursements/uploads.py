"""Uploads on the books' pages: where evidence is stored, how much is read, and turning a
form's evidence slots into uploads (and a refusal back into a message beside its file)."""

from __future__ import annotations

from typing import Any

from flask import current_app

from giving.disbursements import services
from giving.disbursements.evidence import MAX_EVIDENCE_BYTES
from giving.disbursements.forms import SHOWS_CHILDREN
from giving.errors import DomainError
from giving.forms_util import attach_error
from giving.storage import FileStore, app_storage

EVIDENCE_FOLDER = "evidence"


def evidence_storage_in(storage: FileStore) -> FileStore:
    """Evidence lives in its own directory beside (never inside) the web-served files; the
    pages and ``giving demo`` both store it here, so the download routes find every file."""
    return storage.within(EVIDENCE_FOLDER)


def evidence_storage() -> FileStore:
    """The app's evidence store (see :func:`evidence_storage_in`)."""
    return evidence_storage_in(app_storage(current_app))


def max_evidence_bytes() -> int:
    return int(current_app.config.get("EVIDENCE_MAX_BYTES", MAX_EVIDENCE_BYTES))


def uploads(files: Any) -> list[services.EvidenceUpload]:
    """The chosen files, each read to one byte past the limit (enough to refuse it)."""
    limit = max_evidence_bytes()
    result = []
    for item in files or []:
        if item is None or not getattr(item, "filename", ""):
            continue
        result.append(services.EvidenceUpload(item.stream.read(limit + 1), item.filename))
    return result


def slot_uploads(slots: Any) -> tuple[list[services.EvidenceUpload], list[int]]:
    """The files chosen in a form's evidence slots with what each is declared to show, and
    the slot each came from (empty slots are skipped), to put a refusal beside its file."""
    limit = max_evidence_bytes()
    result: list[services.EvidenceUpload] = []
    places: list[int] = []
    for place, slot in enumerate(slots):
        if not slot.form.has_file():
            continue
        item = slot.form.file.data
        result.append(
            services.EvidenceUpload(
                item.stream.read(limit + 1),
                item.filename,
                shows_children=slot.form.shows_children.data == SHOWS_CHILDREN,
                children=tuple(slot.form.children.data or ()),
            )
        )
        places.append(place)
    return result, places


def attach_upload_error(form: Any, error: DomainError, places: list[int]) -> None:
    """Put a refusal beside the file (and the part of its slot) it concerns; errors about
    the files as a whole go to the top of the form."""
    if isinstance(error, services.UploadRefused) and error.index < len(places):
        slot = form.evidence.entries[places[error.index]].form
        field = getattr(slot, error.part)
        field.errors = [*list(field.errors), error.message]
        form.evidence.errors = [entry.errors for entry in form.evidence.entries]
    elif error.field == "evidence":
        form.form_errors.append(error.message)
    else:
        attach_error(form, error)
