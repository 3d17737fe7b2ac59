"""The impact blueprint: which URL runs which registry page, the public figures API, and
the template helpers other packages' pages use (figures, links, counts).

Registry URLs (``/registry/<public_id>/…``) answer 404 to anyone who may not see the registry,
visitors included (no redirect to log in: that would confirm the page exists). Handlers live
in ``registry_pages``.
"""

from __future__ import annotations

from typing import Any, cast

from flask import Blueprint, Flask, Response, jsonify, request
from flask.blueprints import BlueprintSetupState
from flask.typing import ResponseReturnValue
from flask_babel import lazy_gettext as _l

from giving.campaigns import queries as campaign_queries
from giving.campaigns.models import Campaign
from giving.config import current_settings
from giving.impact import registry_pages as pages
from giving.impact.figures import ImpactFigures, campaign_figures, count_text, public_count
from giving.impact.keyring import field_cipher, install_cipher
from giving.impact.models import AccessKind, AgeBand, Need, Sex
from giving.web import db_session

__all__ = ["bp", "field_cipher"]

bp = Blueprint("impact", __name__)

_GET = ["GET"]
_POST = ["POST"]
_FORM = ["GET", "POST"]

_REGISTRY = "/registry/<public_id>"
_CHILD = _REGISTRY + "/children/<ref>"

# The registry (organisers, the host's members, the campaign's auditors, admins).
bp.add_url_rule(_REGISTRY + "/children", "registry", pages.registry, methods=_GET)
bp.add_url_rule(_REGISTRY + "/children/new", "new_child", pages.new_child, methods=_FORM)
bp.add_url_rule(
    _REGISTRY + "/children/import", "import_children", pages.import_children, methods=_FORM
)
bp.add_url_rule(
    _REGISTRY + "/children/template.csv", "import_template", pages.import_template, methods=_GET
)
bp.add_url_rule(_CHILD, "show_child", pages.show_child, methods=_GET)
bp.add_url_rule(_CHILD + "/edit", "edit_child", pages.edit_child, methods=_FORM)
bp.add_url_rule(_CHILD + "/erase", "erase_child", pages.erase_child, methods=_POST)
bp.add_url_rule(_REGISTRY + "/access-log", "access_log", pages.access_log, methods=_GET)
bp.add_url_rule(
    _REGISTRY + "/disbursements/<int:disbursement_id>/children",
    "link_children",
    pages.link_children,
    methods=_POST,
)


@bp.record_once
def _load_cipher(state: BlueprintSetupState) -> None:
    # At start-up, so production without GIVING_DATA_KEY fails before serving anything.
    install_cipher(cast(Flask, state.app))


@bp.after_request
def _private_pages(response: Response) -> Response:
    # Children's records must never sit in a browser's or a proxy's cache.
    if request.endpoint != "impact.impact_api":
        response.cache_control.no_store = True
        response.cache_control.private = True
        response.headers["X-Robots-Tag"] = "noindex, nofollow"
    return response


# --- public figures -----------------------------------------------------------------------


def figures_for(campaign: Campaign) -> ImpactFigures:
    return campaign_figures(
        db_session(), campaign, threshold=int(current_settings().suppression_threshold)
    )


@bp.get("/api/v1/campaigns/<public_id>/impact")
def impact_api(public_id: str) -> ResponseReturnValue:
    campaign = campaign_queries.campaign_by_public_id(db_session(), public_id, actor=None)
    response = jsonify(figures_for(campaign).as_dict())
    response.cache_control.public = True
    response.cache_control.max_age = 300
    return response


@bp.app_template_filter("public_count")
def _public_count(value: int | None) -> str:
    """Any count of people shown publicly: "fewer than 10" or a range, never exact."""
    if value is None:
        return ""
    return count_text(public_count(value, threshold=int(current_settings().suppression_threshold)))


@bp.context_processor
def _registry_helpers() -> dict[str, Any]:
    def need_labels(values: tuple[str, ...]) -> str:
        return ", ".join(Need(value).label for value in values)

    return {
        "age_band_label": lambda value: AgeBand(value).label,
        "sex_label": lambda value: Sex(value).label,
        "need_labels": need_labels,
        "access_kind_label": lambda value: str(_ACCESS_LABELS[AccessKind(value)]),
    }


_ACCESS_LABELS = {
    AccessKind.LISTED: _l("Saw it in a list"),
    AccessKind.VIEWED: _l("Opened the full record"),
    AccessKind.EDIT_FORM: _l("Opened it for editing"),
}
