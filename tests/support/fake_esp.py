"""A fake Resend API (https://resend.com/docs/api-reference) for tests and benchmarks.

django-anymail's real Resend backend sends to it unchanged once ANYMAIL["RESEND_API_URL"]
is `FakeESP.url`; anymail's Resend inbound webhook fetches received mail from it
too (`inbound_add` keeps a raw MIME message as Resend's receiving API serves it).
It records what it accepts, honours `Idempotency-Key` as Resend documents it, and can
be told to fail, stall or refuse addresses. Standard library only.

In-process:   with FakeESP() as esp: ...; esp.wait_for(1); esp.messages
Own process:  python -m tests.support.fake_esp --port 8025 --api-key test-key
"""

import argparse
import hashlib
import json
import signal
import socket
import socketserver
import sys
import threading
import time
import traceback
import uuid
from collections import deque
from contextlib import suppress
from email.utils import getaddresses
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

# Resend's error "name" for each status, so that error bodies look like the real ones.
_ERROR_NAMES = {400: "validation_error", 401: "missing_api_key", 403: "invalid_api_key", 404: "not_found",
                405: "method_not_allowed", 409: "invalid_idempotent_request", 422: "validation_error",
                429: "rate_limit_exceeded", 500: "internal_server_error", 503: "service_unavailable"}
_API_PATHS = ("/emails", "/emails/batch")
_BATCH_LIMIT, _TO_LIMIT = 100, 50  # Resend's limits: emails per batch, "to" addresses per email.


def _error(status, message, name=None):
    return {"statusCode": status, "name": name or _ERROR_NAMES.get(status, "application_error"), "message": message}


def _addr_specs(values):
    # "Zoë Ådahl <ZOE@example.com>" becomes "zoe@example.com", so addresses match however written.
    return [addr.lower() for _, addr in getaddresses(values)]


class _Refusal(Exception):
    """Raised while handling a request to answer with an error instead of accepting it."""

    def __init__(self, status, message, name=None):
        super().__init__(message)
        self.response: tuple[int, Any, dict[str, str]] = (status, _error(status, message, name), {})


class FakeESP:
    def __init__(self, api_key="test-key", host="127.0.0.1", port=0):
        self.api_key, self.host, self.port = api_key, host, port
        self.url: str | None = None
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        # One lock guards all state; the condition on it lets wait_for sleep instead of polling.
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self.reset()

    def start(self):
        self._server = _Server((self.host, self.port), self)
        self.port = self._server.server_address[1]
        self.url = f"http://{self.host}:{self.port}/"
        # A short poll interval, because stop() waits until the serving loop next looks up.
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True)
        self._thread.start()
        return self

    def stop(self):
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        # Keep-alive connections outlive the listening socket. Closing them stops a pooled
        # client connection from still reaching a server the test believes is gone.
        self._server.close_connections()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = self._thread = None

    def __enter__(self):
        return self if self._server else self.start()

    def __exit__(self, *exc_info):
        self.stop()

    @property
    def messages(self):
        with self._lock:
            return list(self._messages)

    def messages_to(self, address):
        """Accepted messages with `address` among their to, cc or bcc recipients."""
        wanted = _addr_specs([address])[0]
        return [m for m in self.messages if wanted in _addr_specs(m["to"] + m["cc"] + m["bcc"])]

    @property
    def request_count(self):
        return self._requests

    @property
    def duplicates_suppressed(self):
        return self._duplicates

    def stats(self):
        with self._lock:
            return {"accepted": len(self._messages), "requests": self._requests,
                    "duplicates_suppressed": self._duplicates}

    def wait_for(self, count, timeout=10.0):
        """Block until at least `count` messages were accepted; return them all."""
        with self._changed:
            if self._changed.wait_for(lambda: len(self._messages) >= count, timeout):
                return list(self._messages)
            last = [(m["to"], m["subject"]) for m in self._messages[-5:]]
            raise AssertionError(
                f"The fake ESP expected at least {count} message(s) within {timeout}s but accepted "
                f"{len(self._messages)} from {self._requests} request(s). Last ones (to, subject): {last}")

    def reset(self):
        """Forget messages, counters, idempotency keys and faults, as if freshly started."""
        with self._lock:
            self._messages, self._requests, self._duplicates = [], 0, 0
            self._idempotency = {}  # key -> [request fingerprint, stored response or None while running]
            self._inbound: dict[str, bytes] = {}  # received email id -> its raw MIME bytes
        self.clear_faults()

    def inbound_add(self, raw):
        """Keep a received email (raw MIME bytes) as Resend does; return its id for the
        `email.received` webhook. anymail then GETs /emails/receiving/<id> and its raw download."""
        email_id = str(uuid.uuid4())
        with self._lock:
            self._inbound[email_id] = bytes(raw)
        return email_id

    def _receiving(self, method, path, headers):
        email_id = path.rsplit("/", 1)[-1]
        with self._lock:
            raw = self._inbound.get(email_id)
        if path.startswith("/_raw/"):
            # A pre-signed download URL: no API key, as at Resend.
            return (200, raw, {"Content-Type": "message/rfc822"}) if raw is not None else (404, b"", {})
        if headers.get("Authorization") != f"Bearer {self.api_key}":
            return 401, _error(401, "Missing or invalid API key in the authorization header."), {}
        if raw is None or method != "GET":
            return 404, _error(404, "Email not found."), {}
        return 200, {"object": "email", "id": email_id, "raw": {"download_url": f"{self.url}_raw/{email_id}"}}, {}

    def fail_next(self, n, status=500, retry_after=None, body=None):
        """The next n API requests get `status` (and Retry-After if given) and record nothing.
        A str or bytes `body` is sent as is, to imitate, say, a proxy's HTML error page."""
        headers = {} if retry_after is None else {"Retry-After": str(retry_after)}
        if body is None:
            body = _error(status, f"Injected failure ({status}).")
        elif isinstance(body, (str, bytes)):
            body = body.encode() if isinstance(body, str) else body
            headers["Content-Type"] = "text/plain; charset=utf-8"
        with self._lock:
            self._fails.extend([(status, body, headers)] * n)  # One entry per request to fail.

    def delay_next(self, n, seconds):
        """The next n API requests take `seconds` longer, then are answered as usual.
        The time is spent just before recording, so a wrong key or an idempotency replay is quick."""
        with self._lock:
            self._delays.extend([seconds] * n)

    def reject_address(self, address, status=422, message="The recipient address is suppressed."):
        """Refuse any request with a message to `address`; a batch is refused whole, as Resend does."""
        with self._lock:
            self._rejects[_addr_specs([address])[0]] = (status, message)

    def clear_faults(self):
        with self._lock:
            # (status, body, headers) per request to fail; seconds per request to delay;
            # (status, message) per refused address.
            self._fails: deque[tuple[int, Any, dict[str, str]]] = deque()
            self._delays: deque[float] = deque()
            self._rejects: dict[str, tuple[int, str]] = {}

    def handle(self, method, path, headers, body):
        """Answer one HTTP request with (status, JSON-able or bytes body, extra headers)."""
        path = path.split("?", 1)[0]
        if path == "/_stats" and method == "GET":
            return 200, self.stats(), {}
        if path == "/_reset" and method == "POST":
            self.reset()
            return 200, {"ok": True}, {}
        if path.startswith("/emails/receiving/") or path.startswith("/_raw/"):
            return self._receiving(method, path, headers)
        if path not in _API_PATHS:
            return 404, _error(404, f"The requested endpoint {path} does not exist."), {}
        if method != "POST":
            return 405, _error(405, "Method is not allowed for the requested path."), {}
        with self._lock:
            self._requests += 1
            delay = self._delays.popleft() if self._delays else None
            fail = self._fails.popleft() if self._fails else None
        if fail:
            if delay:
                time.sleep(delay)
            return fail
        try:
            return 200, self._authorized(path, headers, body, delay), {}
        except _Refusal as refusal:
            return refusal.response

    def _authorized(self, path, headers, body, delay):
        if headers.get("Authorization") != f"Bearer {self.api_key}":
            raise _Refusal(401, "Missing or invalid API key in the authorization header.")
        key = headers.get("Idempotency-Key")
        if key is None:
            if delay:
                time.sleep(delay)
            return self._record(path, body, None)
        if not 1 <= len(key) <= 256:
            raise _Refusal(400, "The key must be between 1-256 chars.", "invalid_idempotency_key")
        # As Resend does: a key replays its earlier success, but only for the same request, and a
        # key whose first request is still running is refused rather than run twice.
        fingerprint = hashlib.sha256(path.encode() + b"\0" + body).digest()
        with self._lock:
            entry = self._idempotency.get(key)
            if entry is None:
                self._idempotency[key] = [fingerprint, None]
            elif entry[0] != fingerprint:
                raise _Refusal(409, "Same idempotency key used with a different request payload.")
            elif entry[1] is None:
                raise _Refusal(409, "Same idempotency key used while original request is still in progress.",
                               "concurrent_idempotent_requests")
            else:
                self._duplicates += 1
                return entry[1]
        response = None
        try:
            # A delay is spent while holding the key, as a slow request at Resend would hold it;
            # only this connection's thread sleeps, and the others keep serving.
            if delay:
                time.sleep(delay)
            response = self._record(path, body, key)
            return response
        finally:
            # Only a success is remembered, so that a refused request may be retried with its key.
            with self._lock:
                entry = self._idempotency.get(key)  # None if reset() ran meanwhile.
                if entry is not None and response is None:
                    del self._idempotency[key]
                elif entry is not None:
                    entry[1] = response

    def _record(self, path, body, key):
        try:
            data = json.loads(body)
        except ValueError:
            raise _Refusal(422, "The request body is not valid JSON.") from None
        batch = path == "/emails/batch"
        if batch and not (isinstance(data, list) and 1 <= len(data) <= _BATCH_LIMIT):
            raise _Refusal(422, f"A batch must be a JSON array of 1 to {_BATCH_LIMIT} emails.")
        items = data if batch else [data]
        messages = [_validate(item, f"emails[{i}]: " if batch else "") for i, item in enumerate(items)]
        with self._lock:
            rejects = dict(self._rejects)
        for message in messages if rejects else ():
            for addr in _addr_specs(message["to"] + message["cc"] + message["bcc"]):
                if addr in rejects:
                    raise _Refusal(*rejects[addr])
        now = time.monotonic()
        for message in messages:
            message.update(id=str(uuid.uuid4()), idempotency_key=key, received_at=now)
        with self._changed:
            self._messages.extend(messages)
            self._changed.notify_all()
        return {"data": [{"id": m["id"]} for m in messages]} if batch else {"id": messages[0]["id"]}


def _validate(item, where):
    """Check one email object as Resend would, and return the message record to keep."""
    if not isinstance(item, dict):
        raise _Refusal(422, f"{where}Each email must be a JSON object.")
    for field in ("from", "to", "subject"):
        if not item.get(field):
            raise _Refusal(422, f"{where}Missing `{field}` field.")

    def addresses(field):
        value = item.get(field) or []
        value = [value] if isinstance(value, str) else value  # Resend takes a string or a list.
        if not isinstance(value, list) or not all(isinstance(v, str) and "@" in v for v in value):
            raise _Refusal(422, f"{where}Invalid `{field}` field: expected email addresses.")
        return value

    if not isinstance(item["from"], str) or "@" not in item["from"]:
        raise _Refusal(422, f"{where}Invalid `from` field: expected one email address.")
    to = addresses("to")
    if len(to) > _TO_LIMIT:
        raise _Refusal(422, f"{where}An email may have at most {_TO_LIMIT} `to` addresses.")
    headers = item.get("headers") or {}
    if not isinstance(headers, dict) or not all(isinstance(v, str) for v in headers.values()):
        raise _Refusal(422, f"{where}Invalid `headers` field: header values must be strings.")
    return {"from": item["from"], "to": to, "cc": addresses("cc"), "bcc": addresses("bcc"),
            "reply_to": addresses("reply_to"), "subject": item["subject"], "text": item.get("text"),
            "html": item.get("html"), "headers": headers}


class _Handler(BaseHTTPRequestHandler):
    server: "_Server"
    protocol_version = "HTTP/1.1"  # Keep-alive, because requests sessions reuse their connections.
    server_version, sys_version = "fake-esp", ""
    # Headers and body leave in one buffered write with Nagle off: two small writes with Nagle
    # on can stall each response until the client's delayed ACK, some 40 ms.
    disable_nagle_algorithm = True
    wbufsize = 1 << 16
    timeout = 120  # An idle keep-alive connection is dropped eventually instead of pinning a thread.

    def log_message(self, format, *args):
        pass  # A log line per request would cost more than the request itself.

    def _dispatch(self):
        try:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length > 0 else b""
            status, payload, headers = self.server.esp.handle(self.command, self.path, self.headers, body)
        except Exception:
            # A bug in the fake itself: report it on stderr, and answer rather than hang the client.
            traceback.print_exc()
            status, payload, headers = 500, _error(500, "The fake ESP crashed; see its stderr."), {}
        data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        self.send_response(status)
        if "Content-Type" not in headers:
            self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _dispatch


class _Server(ThreadingHTTPServer):
    daemon_threads = True  # A sleeping (delayed) handler must never keep the process alive.
    request_queue_size = 1024  # Bursts of new connections from many workers must not be refused.

    def __init__(self, address, esp):
        self.esp = esp
        self._connections, self._connections_lock = set(), threading.Lock()
        super().__init__(address, _Handler)

    def server_bind(self):
        # HTTPServer.server_bind calls socket.getfqdn(), a reverse DNS lookup that can take
        # seconds on a badly configured host, for a name that is never used here.
        socketserver.TCPServer.server_bind(self)
        host, port = self.server_address[:2]
        assert isinstance(host, str)
        self.server_name, self.server_port = host, port

    def process_request(self, request, client_address):
        with self._connections_lock:
            self._connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request):
        with self._connections_lock:
            self._connections.discard(request)
        super().shutdown_request(request)

    def close_connections(self):
        with self._connections_lock:
            connections = list(self._connections)
        for connection in connections:
            with suppress(OSError):  # Already closed by the client: nothing left to do.
                connection.shutdown(socket.SHUT_RDWR)

    def handle_error(self, request, client_address):
        # A client that gave up and hung up before a delayed answer is expected, not an error.
        if not isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            super().handle_error(request, client_address)


def main(argv=None):
    parser = argparse.ArgumentParser(description="Serve a fake Resend API until SIGTERM or SIGINT.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8025, help="0 picks a free port (printed at start).")
    parser.add_argument("--api-key", default="test-key")
    args = parser.parse_args(argv)
    stopping = threading.Event()
    # The signal handler only sets a flag: stopping the server inside it could deadlock.
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stopping.set())
    esp = FakeESP(api_key=args.api_key, host=args.host, port=args.port).start()
    print(f"fake-esp listening on {esp.url}", flush=True)
    while not stopping.wait(0.5):
        pass
    esp.stop()
    print(json.dumps(esp.stats()), flush=True)


if __name__ == "__main__":
    main()
