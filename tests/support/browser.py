"""Headless Chromium for the browser tests: Debian's chromium, driven by
Playwright through its executable path (no browser download). Registered as a
fixture module in tests/conftest.py, so every test can ask for `browser`."""

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.db import connections

# Without the background-networking flags Chromium keeps trying the network,
# which this machine closes.
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]


def chromium_path() -> str:
    path = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or "/usr/bin/chromium"
    assert Path(path).exists(), "Debian's chromium package is needed for the browser tests: apt-get install chromium"
    return path


@pytest.fixture
def browser() -> Iterator[Any]:
    # Playwright's sync API runs an event loop in this thread; the test's own
    # database calls are ordinary blocking calls made between its steps.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        yield launched
        launched.close()
        # Queries made while Playwright's loop runs get their own connection
        # (Django keeps connections per async context); close it here, or the
        # test database cannot be dropped at the end of the run.
        connections.close_all()
    os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
