"""Templates only format: the helpers Giving gives them compute nothing from the database.

Views read what a page shows and pass it in (the campaign page its spending, children's
figures and supporters; the books' pages their children's checkboxes, listed and logged in
the view's transaction). This keeps the list of Giving's own template globals to helpers
that only format or build an empty form, so a new one that queries has to be argued here.
"""

from __future__ import annotations

from flask import Flask

# Each: what it does without touching the database.
PURE_GLOBALS = {
    "donate_form": "builds an empty giving form for the visitor (no query)",
    "donations_open": "reads the payment settings",
    "region_name": "looks a province up in a static table",
    "cover_url": "builds the cover image's URL from its key",
    "language_switch_url": "builds a URL",
    # The registry's pages: labels of stored codes.
    "age_band_label": "an enum's label",
    "sex_label": "an enum's label",
    "need_labels": "enums' labels",
    "access_kind_label": "an enum's label",
}


def test_giving_defines_only_formatting_template_globals(app: Flask) -> None:
    ours = {
        name
        for name, value in app.jinja_env.globals.items()
        if getattr(value, "__module__", "").startswith("giving.")
    }
    with app.test_request_context():
        processors = [p for scoped in app.template_context_processors.values() for p in scoped]
        for processor in processors:
            ours |= {
                name
                for name, value in processor().items()
                if callable(value) and getattr(value, "__module__", "").startswith("giving.")
            }
    assert ours - set(PURE_GLOBALS) == set()
    assert {"donate_form", "region_name"} <= ours  # the check sees Giving's globals at all
