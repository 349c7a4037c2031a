"""Fixtures shared by the fault-injection tests, registered for every test by
`pytest_plugins` in tests/conftest.py (LONG, LogTail and the helpers are imported).

Every scenario runs real processes (Celery worker, beat, gunicorn where the
web side matters) against a real Redis and the test database, with anymail's
Resend backend talking to the fake ESP in this process. Scenarios that stop,
wipe or restart Redis get a private redis-server; the session's is shared.

`FAULTS_LONG=1` runs the long variants (more signatures, letters and kills);
without it the same tests run with smaller figures, never skipped.
"""

import os
import threading
from contextlib import contextmanager

import pytest

from petitions.services.content import petition_seed_load
from tests.support.fake_esp import FakeESP
from tests.support.redis_server import RedisServer
from tests.support.workload import recipients_uncapped

LONG = os.environ.get("FAULTS_LONG", "").strip() not in ("", "0")


def recovery_env(redis_url, **overrides):
    """Environment for worker and beat processes: the given Redis, and leases and
    sweep intervals of seconds instead of minutes, so lost work is found quickly."""
    return {
        "REDIS_URL": redis_url,
        "OUTBOX_LEASE_SECONDS": "3",
        "LETTER_SEND_LEASE_SECONDS": "3",
        "OUTBOX_REPUBLISH_INTERVAL_SECONDS": "1",
        "LETTERS_DISPATCH_INTERVAL_SECONDS": "1",
        "LOG_LEVEL": "WARNING",
    } | {name: str(value) for name, value in overrides.items()}


@pytest.fixture
def esp():
    with FakeESP(api_key="test-key") as esp:
        yield esp


@pytest.fixture
def private_redis():
    with RedisServer() as server:
        yield server


@pytest.fixture
def petition_uncapped(transactional_db):
    petition, _ = petition_seed_load()
    recipients_uncapped()
    return petition


@contextmanager
def supervised(*processes, interval=0.2):
    """Start again any of `processes` that exits on its own, as the process
    manager running them in production would (systemd's Restart=always, say).

    The Celery worker needs it: when Redis goes away while the worker holds an
    unacknowledged message, kombu can fail with "Unrecoverable error:
    AttributeError('NoneType' object has no attribute 'hostname')" and the
    worker exits. Yields the list of restarts, for the scenario's figures.
    """
    restarts = []
    stopping = threading.Event()

    def watch():
        while not stopping.wait(interval):
            for process in processes:
                if process.process is not None and process.process.poll() is not None and not stopping.is_set():
                    restarts.append(type(process).__name__)
                    try:
                        process.start(timeout=300)
                    except AssertionError:
                        pass  # Reported by the scenario's own wait, with the process's output.

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    try:
        yield restarts
    finally:
        stopping.set()
        watcher.join(10)


class LogTail:
    """The end of some processes' output, read only when shown: pass it as the
    `message` of wait_until to see what they were doing when it timed out."""

    def __init__(self, what, *processes, characters=3000):
        self.what, self.processes, self.characters = what, processes, characters

    def __str__(self):
        tails = [f"--- {type(p).__name__} ---\n{p.log()[-self.characters:]}" for p in self.processes]
        return "\n".join([self.what, *tails])
