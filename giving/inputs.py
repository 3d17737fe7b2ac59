"""Request input checked at the edge, before any view: no NUL characters, integers in 64 bits.

PostgreSQL cannot store or even compare text holding a NUL character, and neither database
takes an integer beyond a signed 64-bit one; either would surface deep in a query as a 500.
No address, query parameter or form field of this site ever needs a NUL, so a request with
one is refused with a 400 before a view runs. Integers are bounded where they are parsed:
the URL converters (``int`` for row ids, which are 32-bit columns, and ``int64`` for ledger
seqs; a number beyond the column names nothing, so 404), ``query_int`` and ``page_arg`` for
query parameters (400 with a message) and ``WholeNumberField`` in forms.
"""

from __future__ import annotations

import re
from typing import Any

from flask import Flask, abort, request
from flask_babel import gettext as _
from werkzeug.routing import IntegerConverter, Map
from werkzeug.routing import ValidationError as NoMatch

from giving.errors import ValidationError

INT64_MAX = 2**63 - 1
INT64_MIN = -(2**63)
INT32_MAX = 2**31 - 1
INT32_MIN = -(2**31)
_NUL = "\x00"
# Longer than any integer within 64 bits, sign included: refused before int() reads it.
MAX_DIGITS = 20
_WHOLE_NUMBER = re.compile(r"-?[0-9]+")


class _BoundedIntConverter(IntegerConverter):
    """werkzeug's ``int`` converter, matching only numbers the column behind it can hold."""

    lowest = INT64_MIN
    highest = INT64_MAX

    def __init__(self, url_map: Map, *args: Any, **kwargs: Any) -> None:
        super().__init__(url_map, *args, **kwargs)
        self.min = self.lowest if self.min is None else max(self.min, self.lowest)
        self.max = self.highest if self.max is None else min(self.max, self.highest)

    def to_python(self, value: str) -> Any:
        # int() refuses more than 4,300 digits with a ValueError: stop long before that.
        if len(value) > MAX_DIGITS:
            raise NoMatch()
        return super().to_python(value)


class IdConverter(_BoundedIntConverter):
    """``<int:…>``: a row id. Ids are INTEGER columns, and PostgreSQL refuses to compare
    one with a number beyond 32 bits (the driver sends it cast to the column's type)."""

    lowest = INT32_MIN
    highest = INT32_MAX


class Int64Converter(_BoundedIntConverter):
    """``<int64:…>``: a number kept in a BIGINT column, such as a ledger seq."""


def _nul_in(text: object) -> bool:
    # werkzeug leaves a multipart part's name None when it holds a line break.
    return isinstance(text, str) and _NUL in text


def _has_nul(values: Any) -> bool:
    return any(_nul_in(key) or any(_nul_in(v) for v in values.getlist(key)) for key in values)


def refuse_nul() -> None:
    """Abort with a 400 if the path, a query parameter, a form field or a file name has a NUL."""
    files = request.files
    if (
        _NUL in request.path
        or _has_nul(request.args)
        or _has_nul(request.form)
        or any(_nul_in(key) or _nul_in(f.filename) for key, f in files.items(multi=True))
    ):
        abort(
            400,
            description=_(
                "The request contains a NUL character (code 0), which no address or field of "
                "this site accepts. Remove it and try again."
            ),
        )


def query_int(
    name: str,
    *,
    default: int | None = None,
    minimum: int = 0,
    maximum: int = INT64_MAX,
) -> int:
    """The query parameter ``name`` as a whole number in [minimum, maximum], or a 400."""
    raw = request.args.get(name)
    if raw is None or (raw == "" and default is None):
        if default is None:
            raise ValidationError(_("The parameter %(name)s is required", name=name), field=name)
        return default
    # What the OpenAPI document calls an integer: ASCII digits and one optional minus, no
    # spaces ("--5" or " 3" are not numbers; str.isdigit() would also take "²" or "١").
    if not _WHOLE_NUMBER.fullmatch(raw) or len(raw) > MAX_DIGITS:
        raise ValidationError(
            _("The parameter %(name)s must be a whole number, not %(value)r", name=name, value=raw),
            field=name,
        )
    value = int(raw)
    if value < minimum:
        raise ValidationError(
            _("The parameter %(name)s must be at least %(minimum)d", name=name, minimum=minimum),
            field=name,
        )
    if value > maximum:
        raise ValidationError(
            _("The parameter %(name)s must be at most %(maximum)d", name=name, maximum=maximum),
            field=name,
        )
    return value


def page_arg(per_page: int) -> int:
    """The ``page`` query parameter (from 1), small enough that its offset fits in 64 bits."""
    raw = request.args.get("page", "1")
    if not raw.isascii() or not raw.isdigit() or len(raw) > MAX_DIGITS or int(raw) < 1:
        raise ValidationError(
            _("The page number must be a whole number of 1 or more."), field="page"
        )
    last = INT64_MAX // per_page
    if int(raw) > last:
        raise ValidationError(
            _("The page number must be at most %(last)d.", last=last), field="page"
        )
    return int(raw)


def install_input_checks(app: Flask) -> None:
    """Bound the ``int`` converter and refuse NULs; call before any blueprint is registered."""
    app.url_map.converters["int"] = IdConverter
    app.url_map.converters["int64"] = Int64Converter
    app.before_request(refuse_nul)
