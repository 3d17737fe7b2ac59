"""/api/v1/openapi.json against the tools API clients use: Redocly's and Spectral's recommended
rulesets, with no error and no warning (issue 11, item 14).

Both are Node programs; ``./dev setup`` installs them into ``.tools/`` when npm can reach its
registry. Without them (no Node, offline) these tests are skipped and say why."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient

from giving import PROJECT_ROOT

TOOLS = PROJECT_ROOT / ".tools" / "node_modules" / ".bin"
# Neither tool may phone home from the suite (no network but loopback).
QUIET = {
    "REDOCLY_TELEMETRY": "off",
    "REDOCLY_SUPPRESS_UPDATE_NOTICE": "true",
    "NO_UPDATE_NOTIFIER": "1",
    "SCARF_ANALYTICS": "false",
    "DO_NOT_TRACK": "1",
}


def _tool(name: str) -> Path:
    if shutil.which("node") is None:
        pytest.skip("node is not installed, so the OpenAPI linters cannot run (./dev setup)")
    local = TOOLS / name
    if local.exists():
        return local
    found = shutil.which(name)
    if found is None:
        pytest.skip(f"{name} is not installed: ./dev setup puts it in .tools/ when npm can")
    return Path(found)


@pytest.fixture
def document_file(client: FlaskClient, tmp_path: Path) -> Path:
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    path = tmp_path / "openapi.json"
    path.write_text(json.dumps(response.get_json(), indent=1), encoding="utf-8")
    return path


def _run(*command: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(part) for part in command],
        capture_output=True,
        text=True,
        timeout=180,
        cwd=PROJECT_ROOT,
        env={**os.environ, **QUIET},
        check=False,
    )


def test_redocly_recommended_rules_find_no_error_or_warning(document_file: Path) -> None:
    redocly = _tool("redocly")
    run = _run(redocly, "lint", "--config", "redocly.yaml", "--format=json", document_file)
    report: dict[str, Any] = json.loads(run.stdout)
    problems = [
        f"{p['severity']} {p['ruleId']} at {p['location'][0]['pointer']}: {p['message']}"
        for p in report["problems"]
    ]
    assert problems == []
    assert report["totals"] == {"errors": 0, "warnings": 0, "ignored": 0}
    assert run.returncode == 0, run.stderr


def test_spectral_recommended_rules_find_nothing_at_all(document_file: Path) -> None:
    spectral = _tool("spectral")
    run = _run(
        spectral,
        "lint",
        "--ruleset",
        ".spectral.yaml",
        "--format=json",
        "--fail-severity=hint",  # warnings, infos and hints fail too
        document_file,
    )
    # Spectral prints its JSON and then a summary line on the same stream.
    results = json.loads(run.stdout[: run.stdout.rindex("]") + 1])
    problems = [f"{r['code']} at {'.'.join(map(str, r['path']))}: {r['message']}" for r in results]
    assert problems == []
    assert run.returncode == 0, run.stderr
