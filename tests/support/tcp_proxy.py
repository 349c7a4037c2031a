"""A TCP proxy on 127.0.0.1 that can go down and come back, as a restarting
server does: while down, open connections are cut and new ones refused."""

import socket
import threading
from contextlib import suppress


class TcpProxy:
    def __init__(self, target_host, target_port):
        self.target = (target_host, target_port)
        self.port = None
        self._listener = None
        self._pairs = set()
        self._lock = threading.Lock()

    def start(self):
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port or 0))
        listener.listen(128)
        # A short timeout lets the accept loop notice that it was stopped.
        listener.settimeout(0.05)
        self.port = listener.getsockname()[1]
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()
        return self

    def _accept(self, listener):
        while self._listener is listener:
            try:
                client, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            client.settimeout(None)
            upstream.settimeout(None)
            pair = (client, upstream)
            with self._lock:
                self._pairs.add(pair)
            threading.Thread(target=self._pump, args=(client, upstream, pair), daemon=True).start()
            threading.Thread(target=self._pump, args=(upstream, client, pair), daemon=True).start()
        listener.close()

    def _pump(self, source, destination, pair):
        with suppress(OSError):
            while data := source.recv(65536):
                destination.sendall(data)
        self._close(pair, abort=False)

    def _close(self, pair, *, abort):
        with self._lock:
            self._pairs.discard(pair)
        for sock in pair:
            with suppress(OSError):
                if abort:
                    # Reset rather than close politely, as a dying server's host would.
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
                sock.shutdown(socket.SHUT_RDWR)
            with suppress(OSError):
                sock.close()

    def down(self):
        """Refuse new connections and cut the open ones."""
        listener, self._listener = self._listener, None
        if listener is not None:
            listener.close()
        with self._lock:
            pairs = list(self._pairs)
        for pair in pairs:
            self._close(pair, abort=True)

    def up(self):
        return self.start()

    def stop(self):
        self.down()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc_info):
        self.stop()
