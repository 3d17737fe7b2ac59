"""``./dev run --port N`` serves, announces and links to port N (issue 11, item 5).

The script runs against a stand-in virtual environment whose ``giving`` records how it was
called, so nothing is installed or served."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from giving import PROJECT_ROOT


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    root = tmp_path / "checkout"
    root.mkdir()
    shutil.copy(PROJECT_ROOT / "dev", root / "dev")
    shutil.copy(PROJECT_ROOT / "pyproject.toml", root / "pyproject.toml")
    bin_dir = root / ".venv" / "bin"
    bin_dir.mkdir(parents=True)
    (bin_dir / "python").symlink_to(sys.executable)
    (bin_dir / "pybabel").write_text("#!/bin/sh\nexit 0\n")
    (bin_dir / "giving").write_text(
        '#!/bin/sh\necho "giving $* | GIVING_PUBLIC_URL=$GIVING_PUBLIC_URL" >> "$CALLS"\n'
    )
    stamp = root / ".venv" / ".giving-installed"
    stamp.touch()
    os.utime(stamp, (2**31 - 1, 2**31 - 1))  # newer than pyproject.toml: nothing to install
    tools = tmp_path / "tools"
    tools.mkdir()
    # Every Debian package counts as installed, so the script never reaches for apt.
    (tools / "dpkg-query").write_text("#!/bin/sh\nprintf 'install ok installed'\n")
    for path in (*bin_dir.iterdir(), tools / "dpkg-query"):
        if not path.is_symlink():
            path.chmod(0o755)
    return root


def run_dev(checkout: Path, *args: str, **env: str) -> tuple[subprocess.CompletedProcess[str], str]:
    calls = checkout / "calls.txt"
    environ = {key: value for key, value in os.environ.items() if key != "GIVING_PUBLIC_URL"} | {
        "PATH": f"{checkout.parent / 'tools'}:{os.environ['PATH']}",
        "PYTHON": sys.executable,
        "CALLS": str(calls),
        **env,
    }
    result = subprocess.run(
        ["bash", str(checkout / "dev"), "run", *args],
        capture_output=True,
        text=True,
        env=environ,
        timeout=60,
        check=False,
    )
    return result, calls.read_text() if calls.exists() else ""


def test_dev_run_serves_announces_and_links_to_the_port_asked_for(checkout: Path) -> None:
    result, calls = run_dev(checkout, "--port", "5123", "--debug")

    assert result.returncode == 0, result.stderr
    assert "serving Giving on http://127.0.0.1:5123" in result.stderr
    assert "5000" not in result.stderr
    assert calls.splitlines() == [
        "giving demo | GIVING_PUBLIC_URL=http://127.0.0.1:5123",
        "giving run --host 127.0.0.1 --port 5123 --debug | GIVING_PUBLIC_URL=http://127.0.0.1:5123",
    ]


def test_dev_run_keeps_the_defaults_and_an_address_set_on_purpose(checkout: Path) -> None:
    result, calls = run_dev(checkout)
    assert result.returncode == 0, result.stderr
    assert "serving Giving on http://127.0.0.1:5000" in result.stderr
    assert calls.splitlines()[-1] == (
        "giving run --host 127.0.0.1 --port 5000 | GIVING_PUBLIC_URL=http://127.0.0.1:5000"
    )

    result, calls = run_dev(
        checkout, "--port=8080", "--host=0.0.0.0", GIVING_PUBLIC_URL="https://giving.example.org"
    )
    assert result.returncode == 0, result.stderr
    assert "serving Giving on http://0.0.0.0:8080" in result.stderr
    assert calls.splitlines()[-1] == (
        "giving run --host 0.0.0.0 --port 8080 | GIVING_PUBLIC_URL=https://giving.example.org"
    )


def test_dev_run_refuses_a_port_that_is_not_a_number(checkout: Path) -> None:
    result, calls = run_dev(checkout, "--port", "fivethousand")
    assert result.returncode == 2
    assert "--port needs a number" in result.stderr
    assert calls == ""


def _setup(checkout: Path, npm_script: str) -> tuple[subprocess.CompletedProcess[str], str]:
    npm = checkout.parent / "tools" / "npm"
    npm.write_text(npm_script)
    npm.chmod(0o755)
    calls = checkout / "calls.txt"
    result = subprocess.run(
        ["bash", str(checkout / "dev"), "setup"],
        capture_output=True,
        text=True,
        env=os.environ
        | {
            "PATH": f"{checkout.parent / 'tools'}:{os.environ['PATH']}",
            "PYTHON": sys.executable,
            "CALLS": str(calls),
        },
        timeout=60,
        check=False,
    )
    return result, calls.read_text() if calls.exists() else ""


def test_dev_setup_installs_the_openapi_linters_into_dot_tools(checkout: Path) -> None:
    result, calls = _setup(checkout, '#!/bin/sh\necho "npm $*" >> "$CALLS"\n')

    assert result.returncode == 0, result.stderr
    assert "installing the OpenAPI linters" in result.stderr
    (call,) = calls.splitlines()
    assert call.startswith(f"npm install --prefix {checkout}/.tools ")
    assert "--ignore-scripts" in call
    assert "@redocly/cli@" in call
    assert "@stoplight/spectral-cli@" in call


def test_dev_setup_goes_on_when_the_linters_cannot_be_installed(checkout: Path) -> None:
    result, calls = _setup(checkout, '#!/bin/sh\necho "npm $*" >> "$CALLS"\nexit 1\n')

    assert result.returncode == 0, result.stderr
    assert "could not install the OpenAPI linters (offline?)" in result.stderr
    assert calls.startswith("npm install")
