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


def _free_port():
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class _ProjectProcess:
    """A process running the project's code on the test database and Redis."""

    ready_text = ""

    def __init__(self, *, extra_env=None):
        self.extra_env = extra_env or {}
        self.output: list[str] = []
        self.process: subprocess.Popen[str] | None = None

    def environment(self):
        return os.environ | {"DATABASE_URL": test_database_url(), "PYTHONUNBUFFERED": "1"} | self.extra_env

    def command(self):
        raise NotImplementedError

    def start(self, timeout=60):
        process = self.process = subprocess.Popen(
            self.command(), cwd=ROOT, env=self.environment(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            text=True, start_new_session=True,
        )
        ready = threading.Event()

        def read():
            assert process.stdout is not None  # stdout=PIPE
            for line in process.stdout:
                self.output.append(line)
                if self.ready_text in line:
                    ready.set()

        threading.Thread(target=read, daemon=True).start()
        if not ready.wait(timeout):
            self.stop()
            raise AssertionError(f"{type(self).__name__} did not become ready:\n" + "".join(self.output[-50:]))
        return self

    def kill(self):
        """Kill the process and its children outright, as a crash or the OOM killer would."""
        assert self.process is not None, "not started"
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.process.wait(10)

    def stop(self):
        if self.process is None:
            return
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.kill()
        self._wait_for_children(self.process.pid)

    def _wait_for_children(self, group):
        # Pool children can outlive their parent by a moment, holding database
        # connections that would stop the test database from being dropped.
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                os.killpg(group, 0)
            except ProcessLookupError:
                return
            time.sleep(0.05)
        try:
            os.killpg(group, signal.SIGKILL)
        except ProcessLookupError:
            pass

    def log(self):
        return "".join(self.output)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc_info):
        self.stop()


class WebServer(_ProjectProcess):
    """The production app server (gunicorn) serving the site, static files included."""

    ready_text = "Booting worker"

    def __init__(self, *, workers=2, extra_env=None, extra_args=()):
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        super().__init__(extra_env={"SITE_URL": self.url} | (extra_env or {}))
        self.workers = workers
        self.extra_args = list(extra_args)

    def command(self):
        return [
            sys.executable, "-m", "gunicorn", "campaign.wsgi", "--bind", f"127.0.0.1:{self.port}",
            "--workers", str(self.workers), "--access-logfile", "-", *self.extra_args,
        ]


class CeleryWorker(_ProjectProcess):
    """A `celery worker` process; `beat=True` embeds the beat scheduler in it."""

    ready_text = " ready."

    def __init__(self, esp_url, *, beat=False, concurrency=2, extra_env=None):
        super().__init__(extra_env=extra_env)
        self.esp_url = esp_url
        self.beat = beat
        self.concurrency = concurrency
        self._scratch = tempfile.mkdtemp(prefix="test-worker-")

    def environment(self):
        return super().environment() | {
            "EMAIL_BACKEND": "campaign.email_backends.ResendEmailBackend",
            "ANYMAIL_RESEND_API_KEY": "test-key",
            "ANYMAIL_RESEND_API_URL": self.esp_url,
        } | self.extra_env

    def command(self):
        command = [
            sys.executable, "-m", "celery", "-A", "campaign", "worker", "--loglevel=INFO",
            f"--concurrency={self.concurrency}", "--without-gossip", "--without-mingle",
            "--hostname", f"test-worker-{os.getpid()}@%h",
        ]
        if self.beat:
            command += ["--beat", "--schedule", os.path.join(self._scratch, "beat-schedule")]
        return command


class CeleryBeat(_ProjectProcess):
    """`celery beat` in a process of its own, as production runs it (exactly one),
    so that a test can kill workers without killing the scheduler."""

    ready_text = "beat: Starting"

    def __init__(self, *, extra_env=None):
        super().__init__(extra_env=extra_env)
        self._scratch = tempfile.mkdtemp(prefix="test-beat-")

    def command(self):
        return [
            sys.executable, "-m", "celery", "-A", "campaign", "beat", "--loglevel=INFO",
            "--schedule", os.path.join(self._scratch, "beat-schedule"),
        ]


def wait_until(predicate, timeout=30.0, interval=0.1, message="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(interval)
    raise AssertionError(f"Timed out after {timeout}s waiting for {message}")
