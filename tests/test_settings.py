"""One typed settings object (giving/config.py): the only reader of the environment.

Every variable it reads is in README's configuration table, no other module of giving/
reads the process environment, and each value is checked with a message naming it.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from giving.config import MAX_PLATFORM_FEE_BPS, Settings, load_settings
from giving.errors import ConfigError
from giving.payments.config import payments_config

ROOT = Path(__file__).resolve().parent.parent
CONFIG = ROOT / "giving" / "config.py"
PRODUCTION = {
    "GIVING_ENV": "production",
    "SECRET_KEY": "k" * 40,
    "DATABASE_URL": "postgresql://db/giving",
    "REDIS_URL": "redis://127.0.0.1:6379/0",
    "GIVING_DATA_KEY": "d" * 40,
}


def variables_read_by_config() -> set[str]:
    """The names config.py looks up: string constants passed to a lookup or parse helper."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(CONFIG.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Call):
            names.update(
                argument.value
                for argument in node.args
                if isinstance(argument, ast.Constant)
                and isinstance(argument.value, str)
                and re.fullmatch(r"[A-Z][A-Z0-9_]+", argument.value)
            )
    return names


def variables_in_readme() -> set[str]:
    table = ROOT.joinpath("README.md").read_text(encoding="utf-8").split("## Configuration")[1]
    table = table.split("\n## ")[0]
    return {
        name
        for line in table.splitlines()
        if line.startswith("| `")
        for name in re.findall(r"`([A-Z][A-Z0-9_]+)`", line.split(" | ")[0])
    }


def test_every_variable_the_settings_read_is_in_the_readme() -> None:
    read = variables_read_by_config()
    # The check itself would pass on nothing: make sure it sees the variables it must.
    assert {"GIVING_INSTANCE", "GIVING_PLATFORM_FEE_BPS", "PAYMENTS_JOBS", "DATABASE_URL"} <= read
    assert read - variables_in_readme() == set()


def test_only_the_settings_module_reads_the_environment() -> None:
    readers = []
    for path in sorted((ROOT / "giving").rglob("*.py")):
        if path == CONFIG:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Attribute)
                and isinstance(node.value, ast.Name)
                and node.value.id == "os"
                and node.attr in {"environ", "getenv", "environb", "putenv"}
            ):
                readers.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert readers == []


def test_payment_settings_have_safe_defaults() -> None:
    development = load_settings({})
    assert (development.platform_fee_bps, development.sandbox_payments) == (0, True)
    assert development.payments_jobs is None
    production = load_settings(PRODUCTION)
    assert production.sandbox_payments is False
    assert payments_config(production).jobs == "rq"  # Redis is set
    assert payments_config(development).jobs == "inline"
    demo = load_settings({**PRODUCTION, "GIVING_SANDBOX_PAYMENTS": "1", "PAYMENTS_JOBS": "inline"})
    assert demo.sandbox_payments is True
    assert payments_config(demo).jobs == "inline"
    assert (
        payments_config(load_settings({"GIVING_PLATFORM_FEE_BPS": "150"})).platform_fee_bps == 150
    )


@pytest.mark.parametrize(
    ("variables", "message"),
    [
        ({"GIVING_PLATFORM_FEE_BPS": "1.5%"}, "whole basis points"),
        ({"GIVING_PLATFORM_FEE_BPS": str(MAX_PLATFORM_FEE_BPS + 1)}, "between 0 and 2000"),
        ({"GIVING_PLATFORM_FEE_BPS": "-1"}, "between 0 and 2000"),
        ({"PAYMENTS_JOBS": "celery"}, "PAYMENTS_JOBS must be 'inline' or 'rq'"),
        ({"GIVING_SANDBOX_PAYMENTS": "maybe"}, "GIVING_SANDBOX_PAYMENTS must be 1 or 0"),
    ],
)
def test_bad_payment_settings_stop_start_up_with_a_message(
    variables: dict[str, str], message: str
) -> None:
    with pytest.raises(ConfigError, match=re.escape(message)):
        load_settings(variables)


def test_flask_config_overrides_still_win_for_tests() -> None:
    settings: Settings = load_settings({"GIVING_PLATFORM_FEE_BPS": "150"})
    config = payments_config(
        settings, {"PLATFORM_FEE_BPS": 0, "PAYMENTS_JOBS": "rq", "SANDBOX_PAYMENTS": False}
    )
    assert (config.platform_fee_bps, config.jobs, config.sandbox_allowed) == (0, "rq", False)
