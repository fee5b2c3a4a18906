"""A real browser on a real Dagster UI, for tests: ``dagster-webserver`` on 127.0.0.1 (a free
port) against a test instance, and Debian's Chromium driven by Playwright for Python.

Playwright cannot download its own browsers here, so it launches the system Chromium
(``scripts/install_browser.sh``, run by ``make test``) through ``executable_path``. When the
browser is missing the test fails under ``CI`` with the reason, and is skipped (saying why)
on a developer's machine.
"""

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parent.parent
CHROMIUM_ENV = "LABELGATE_CHROMIUM"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SERVER_START_TIMEOUT = 240.0


def _unavailable(reason: str) -> None:
    """Fail under CI, skip (loudly) elsewhere."""
    message = f"browser test cannot run: {reason}. Install it with scripts/install_browser.sh"
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


def chromium_path(candidates: list[str | None] | None = None) -> str:
    if candidates is None:
        candidates = [os.environ.get(CHROMIUM_ENV), "/usr/bin/chromium", shutil.which("chromium")]
    for candidate in filter(None, candidates):
        if Path(candidate).is_file() and os.access(candidate, os.X_OK):
            return candidate
    _unavailable(f"no Chromium at /usr/bin/chromium (or ${CHROMIUM_ENV}, or on PATH)")
    raise AssertionError("unreachable")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def dagster_webserver(env: dict[str, str], log: Path) -> Iterator[str]:
    """``dagster-webserver`` on the repo's workspace with ``env`` (DAGSTER_HOME, projects);
    yields its base URL once it answers, and stops it (with its code server) afterwards."""
    port = free_port()
    server = Path(sys.executable).with_name("dagster-webserver")
    command = [str(server), "-h", "127.0.0.1", "-p", str(port), "-w", "workspace.yaml"]
    environment = {**os.environ, **env, "PYTHONPATH": str(REPO)}
    with log.open("wb") as out:
        process = subprocess.Popen(
            command, cwd=REPO, env=environment, stdout=out, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
        base = f"http://127.0.0.1:{port}"
        try:
            _wait_until_up(base, process, log)
            yield base
        finally:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=30)


def _wait_until_up(base: str, process: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + SERVER_START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"dagster-webserver exited: {log.read_text()[-2000:]}")
        try:
            with urllib.request.urlopen(f"{base}/server_info", timeout=5) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(1.0)
    raise AssertionError(f"dagster-webserver did not answer in {SERVER_START_TIMEOUT:.0f}s")


@contextmanager
def chromium_page() -> Iterator[Any]:
    """A Playwright page in headless Chromium, Dagster's welcome dialog dismissed on sight."""
    executable = chromium_path()
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("the playwright package is not installed")
    with sync_playwright() as playwright:
        try:
            browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        except Exception as exc:  # a browser that does not start is the same as none
            _unavailable(f"Chromium at {executable} did not start ({exc})")
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.set_default_timeout(60_000)
            skip = page.get_by_role("button", name="Skip")
            page.add_locator_handler(skip, lambda found: found.click())
            yield page
        finally:
            browser.close()


def set_launchpad_config(page: Any, yaml_text: str) -> None:
    """Replace the launchpad's run config (its CodeMirror editor) with ``yaml_text``."""
    page.wait_for_selector(".CodeMirror")
    page.evaluate(
        "text => document.querySelector('.CodeMirror').CodeMirror.setValue(text)", yaml_text
    )
