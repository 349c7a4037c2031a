"""Real processes for the end-to-end tests: a Celery worker (and beat) running
the project's own settings against the test database and the test Redis."""

import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import quote

from django.db import connection

ROOT = Path(__file__).resolve().parents[2]


def test_database_url():
    """The URL of the database the tests are using, for another process."""
    settings = connection.settings_dict
    if settings["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{settings['NAME']}"
    credentials = quote(settings["USER"] or "")
    if settings["PASSWORD"]:
        credentials += ":" + quote(settings["PASSWORD"])
    host = settings["HOST"] or "localhost"
    port = f":{settings['PORT']}" if settings["PORT"] else ""
    return f"postgres://{credentials}@{host}{port}/{settings['NAME']}"


class CeleryWorker:
    """A `celery worker` process; `beat=True` embeds the beat scheduler in it."""

    def __init__(self, esp_url, *, beat=False, concurrency=2, extra_env=None):
        self.esp_url = esp_url
        self.beat = beat
        self.concurrency = concurrency
        self.extra_env = extra_env or {}
        self.output = []
        self.process = None
        self._scratch = tempfile.mkdtemp(prefix="test-worker-")

    def environment(self):
        return os.environ | {
            "DATABASE_URL": test_database_url(),
            "EMAIL_BACKEND": "campaign.email_backends.ResendEmailBackend",
            "ANYMAIL_RESEND_API_KEY": "test-key",
            "ANYMAIL_RESEND_API_URL": self.esp_url,
            "PYTHONUNBUFFERED": "1",
        } | self.extra_env

    def start(self, timeout=60):
        command = [
            sys.executable, "-m", "celery", "-A", "campaign", "worker", "--loglevel=INFO",
            f"--concurrency={self.concurrency}", "--without-gossip", "--without-mingle",
            "--hostname", f"test-worker-{os.getpid()}@%h",
        ]
        if self.beat:
            command += ["--beat", "--schedule", os.path.join(self._scratch, "beat-schedule")]
        self.process = subprocess.Popen(
            command, cwd=ROOT, env=self.environment(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            text=True, start_new_session=True,
        )
        ready = threading.Event()

        def read():
            for line in self.process.stdout:
                self.output.append(line)
                if " ready." in line:
                    ready.set()

        threading.Thread(target=read, daemon=True).start()
        if not ready.wait(timeout):
            self.stop()
            raise AssertionError("The Celery worker did not become ready:\n" + "".join(self.output[-50:]))
        return self

    def kill(self):
        """Kill the worker and its children outright, as a crash or the OOM killer would."""
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(10)

    def stop(self):
        if self.process is None or self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            self.kill()

    def log(self):
        return "".join(self.output)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc_info):
        self.stop()


def wait_until(predicate, timeout=30.0, interval=0.1, message="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(interval)
    raise AssertionError(f"Timed out after {timeout}s waiting for {message}")
