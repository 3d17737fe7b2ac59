"""Report models: render jobs, published versions, sign-offs and the download log.

* ``ReportRenderJob`` is the mutable half of publishing: one row per (campaign, version,
  language) — the UNIQUE constraint is what stops two renders of the same version — with
  its state and progress for the page's progress indicator, and the frozen inputs of the
  render (checkpoint, report date, the non-ledger context as JSON).
* ``ReportVersion`` is the immutable snapshot a finished job inserts: stored file key,
  SHA-256, checkpoint, ledger range, time, who, language, and the context it was rendered
  from, so the same bytes can be regenerated later. Database triggers (migration 0006) refuse
  UPDATE and DELETE, as on the ledger.
* Auditors' grants of access are in giving/auditors/models.py.
* ``ReportSignOff`` and ``ReportDownload`` are append-only logs (triggers again): an auditor's
  signed statement about one version, and every download of a report or an export.
"""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from giving.accounts.models import User
from giving.campaigns.models import Campaign
from giving.db import Base, utcnow


class JobState(enum.StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


class DownloadKind(enum.StrEnum):
    REPORT = "report"
    CSV = "csv"
    JSONL = "jsonl"
    IATI = "iati"
    CHECKPOINT = "checkpoint"
    EVIDENCE = "evidence"


def _enum_check(column: str, values: type[enum.StrEnum]) -> str:
    return f"{column} IN ({', '.join(repr(v.value) for v in values)})"


_LANGUAGE_CHECK = "language IN ('en', 'zh')"


class ReportRenderJob(Base):
    __tablename__ = "report_render_jobs"

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(sa.ForeignKey("campaigns.id"))
    version: Mapped[int] = mapped_column()
    language: Mapped[str] = mapped_column(sa.String(2))
    checkpoint_id: Mapped[int] = mapped_column(sa.ForeignKey("ledger_checkpoints.id"))
    report_date: Mapped[dt.datetime] = mapped_column()
    context: Mapped[dict[str, Any]] = mapped_column(sa.JSON)
    requested_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    requested_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    state: Mapped[str] = mapped_column(sa.String(16), default=JobState.QUEUED.value)
    progress: Mapped[int] = mapped_column(default=0)
    stage: Mapped[str] = mapped_column(sa.String(32), default="queued")
    attempts: Mapped[int] = mapped_column(default=0)
    error: Mapped[str | None] = mapped_column(sa.Text)
    started_at: Mapped[dt.datetime | None] = mapped_column()
    finished_at: Mapped[dt.datetime | None] = mapped_column()

    campaign: Mapped[Campaign] = relationship(lazy="joined")

    __table_args__ = (
        sa.UniqueConstraint("campaign_id", "version", "language"),
        sa.CheckConstraint(_enum_check("state", JobState), name="state_known"),
        sa.CheckConstraint(_LANGUAGE_CHECK, name="language_known"),
        sa.CheckConstraint("progress BETWEEN 0 AND 100", name="progress_range"),
        sa.CheckConstraint("version > 0", name="version_positive"),
    )


class ReportVersion(Base):
    __tablename__ = "report_versions"

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(sa.ForeignKey("campaigns.id"))
    version: Mapped[int] = mapped_column()
    language: Mapped[str] = mapped_column(sa.String(2))
    file_key: Mapped[str] = mapped_column(sa.String(64), unique=True)
    sha256: Mapped[str] = mapped_column(sa.String(64), unique=True)
    size_bytes: Mapped[int] = mapped_column(sa.BigInteger)
    checkpoint_id: Mapped[int] = mapped_column(sa.ForeignKey("ledger_checkpoints.id"))
    tree_size: Mapped[int] = mapped_column(sa.BigInteger)
    first_seq: Mapped[int | None] = mapped_column(sa.BigInteger)
    last_seq: Mapped[int | None] = mapped_column(sa.BigInteger)
    entries: Mapped[int] = mapped_column(sa.BigInteger)
    report_date: Mapped[dt.datetime] = mapped_column()
    context: Mapped[dict[str, Any]] = mapped_column(sa.JSON)
    published_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    published_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    campaign: Mapped[Campaign] = relationship(lazy="joined")
    published_by: Mapped[User] = relationship(lazy="selectin")
    signoffs: Mapped[list[ReportSignOff]] = relationship(
        back_populates="version", order_by="ReportSignOff.id", lazy="selectin"
    )

    __table_args__ = (
        sa.UniqueConstraint("campaign_id", "version", "language"),
        sa.CheckConstraint(_LANGUAGE_CHECK, name="language_known"),
        sa.CheckConstraint("length(sha256) = 64", name="sha256_length"),
        sa.Index("ix_report_versions_campaign_published", "campaign_id", "published_at"),
    )


class ReportSignOff(Base):
    __tablename__ = "report_signoffs"

    id: Mapped[int] = mapped_column(primary_key=True)
    version_id: Mapped[int] = mapped_column(sa.ForeignKey("report_versions.id"))
    auditor_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    signed_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    sha256: Mapped[str] = mapped_column(sa.String(64))
    tree_size: Mapped[int] = mapped_column(sa.BigInteger)
    statement: Mapped[str] = mapped_column(sa.Text)

    version: Mapped[ReportVersion] = relationship(back_populates="signoffs")
    auditor: Mapped[User] = relationship(lazy="selectin")

    __table_args__ = (
        sa.UniqueConstraint("version_id", "auditor_id"),
        sa.CheckConstraint("length(sha256) = 64", name="sha256_length"),
    )


class ReportDownload(Base):
    __tablename__ = "report_downloads"

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(sa.ForeignKey("campaigns.id"))
    kind: Mapped[str] = mapped_column(sa.String(16))
    version_id: Mapped[int | None] = mapped_column(sa.ForeignKey("report_versions.id"))
    subject: Mapped[str] = mapped_column(sa.String(100), default="")
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    as_auditor: Mapped[bool] = mapped_column(default=False)
    downloaded_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    user: Mapped[User | None] = relationship(lazy="selectin")

    __table_args__ = (
        sa.CheckConstraint(_enum_check("kind", DownloadKind), name="kind_known"),
        sa.Index("ix_report_downloads_campaign_at", "campaign_id", "downloaded_at"),
    )
