"""Serving an app under gunicorn for the benchmarks (pages.py, webhooks.py, viral.py).

One way to start it, so every benchmark and its baseline run under the configuration the
line it prints names: sync workers, or gthread when ``threads`` is given.
"""

from __future__ import annotations

import http.client
import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def serve(
    app: str,
    environment: Callable[[int], dict[str, str]],
    *,
    workers: int,
    threads: int | None = None,
    unset: tuple[str, ...] = ("STRIPE_SECRET_KEY", "REDIS_URL"),
) -> tuple[subprocess.Popen[bytes], int]:
    """Start gunicorn on a free port with ``environment(port)`` added; wait for /healthz.

    ``unset`` leaves out of the inherited environment what would change the app under test
    (by default: the sandbox provider, inline webhook handling, per-process limits).
    """
    port = free_port()
    env = {name: value for name, value in os.environ.items() if name not in unset}
    env.update(environment(port))
    workers_args = ["--worker-class", "sync"]
    if threads is not None:
        workers_args = ["--worker-class", "gthread", "--threads", str(threads)]
    process = subprocess.Popen(
        [
            sys.executable, "-m", "gunicorn",
            "--chdir", str(ROOT),
            "--pythonpath", f"{ROOT},{ROOT / 'bench'}",
            "--workers", str(workers), *workers_args,
            "--bind", f"127.0.0.1:{port}",
            "--backlog", "2048", "--keep-alive", "30",
            "--log-level", "warning",
            app,
        ],
        cwd=ROOT,
        env=env,
    )  # fmt: skip
    wait_until_up(process, port)
    return process, port


def wait_until_up(process: subprocess.Popen[bytes], port: int) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            conn.request("GET", "/healthz")
            if conn.getresponse().status == 200:
                conn.close()
                return
        except OSError:
            time.sleep(0.2)
    process.kill()
    raise RuntimeError(f"gunicorn on port {port} did not start")
