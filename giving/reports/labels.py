"""Words for the codes a report prints (entry kinds, categories, reconciliation items).

ReportData keeps codes ("processor_fee", "education"); the report's language is chosen only
when it is rendered, so the words are looked up then, through the shared gettext catalogue.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from giving.campaigns.models import CampaignCategory

_KINDS = {
    "donation": _l("Donation"),
    "processor_fee": _l("Processor fee"),
    "platform_fee": _l("Platform fee"),
    "refund": _l("Refund"),
    "dispute": _l("Card dispute"),
    "dispute_won": _l("Dispute won back"),
    "disbursement": _l("Disbursement"),
    "reversal": _l("Reversal"),
}

_ITEMS = {
    "donations": _l("Donations"),
    "processor_fees": _l("Processor fees"),
    "refunds": _l("Refunds"),
    "disputes": _l("Disputes (net of those won back)"),
}


def kind_label(kind: str) -> str:
    label = _KINDS.get(kind)
    return str(label) if label is not None else kind


def category_label(code: str) -> str:
    try:
        return CampaignCategory(code).label
    except ValueError:
        return code


def item_label(item: str) -> str:
    label = _ITEMS.get(item)
    return str(label) if label is not None else item


_STAGES = {
    "queued": _l("Waiting to start"),
    "starting": _l("Starting"),
    "gathering": _l("Gathering the figures from the ledger"),
    "rendering": _l("Rendering the PDF"),
    "storing": _l("Storing the file"),
    "done": _l("Published"),
    "failed": _l("Failed"),
}


def stage_label(stage: str) -> str:
    label = _STAGES.get(stage)
    return str(label) if label is not None else stage
