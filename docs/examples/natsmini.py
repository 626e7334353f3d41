"""natsmini: a minimal, dependency-free NATS client (Python 3.8+).

It speaks the core NATS client protocol over one TCP socket
(https://docs.nats.io/reference/reference-protocols/nats-protocol):
INFO, CONNECT, PUB, SUB, UNSUB, MSG, PING/PONG, +OK/-ERR. No TLS, no
authentication other than user/password or a token in the URL, no
headers, no JetStream, no reconnection: enough for examples and tests
against bciloop's embedded server, and small enough to read in one sitting.

API
    nc = Client.connect("nats://127.0.0.1:4222", name="me", timeout=5.0)
    sid = nc.subscribe("bciloop.demo.bins", callback)   # callback(msg) or None
    nc.unsubscribe(sid)
    nc.publish("subject", b"payload", reply=None)
    nc.flush(timeout=5.0)        # round trip: every earlier PUB/SUB is processed
    msg = nc.next_msg(timeout)   # the next message (Msg) of any subscription
                                 # without a callback; None on timeout
    nc.process(timeout)          # read and dispatch for up to timeout seconds
    nc.run()                     # dispatch callbacks until close() or EOF
    nc.close()

Msg is a namedtuple (subject, sid, reply, data) with data as bytes.
Errors from the server (-ERR) raise NATSError.

Example
    from natsmini import Client
    nc = Client.connect("nats://127.0.0.1:4222")
    nc.subscribe("greet", lambda m: print(m.subject, m.data))
    nc.publish("greet", b"hello")
    nc.flush()
    nc.process(0.1)
    nc.close()
"""

import collections
import json
import socket
import time
import urllib.parse

__all__ = ["Client", "Msg", "NATSError"]

Msg = collections.namedtuple("Msg", "subject sid reply data")


class NATSError(Exception):
    """An -ERR from the server, or a protocol or connection failure."""


class Client:
    """One connection to a NATS server. Not thread-safe: use it from one
    thread (callbacks run on the thread that calls process, run or
    next_msg)."""

    def __init__(self, sock, info):
        self._sock = sock
        self._buf = bytearray()
        self._subs = {}  # sid -> callback or None
        self._sid = 0
        self._pongs = 0
        self._queue = collections.deque()  # messages for next_msg
        self.info = info
        self.closed = False

    @classmethod
    def connect(cls, url="nats://127.0.0.1:4222", name="natsmini", timeout=5.0):
        """Connect to url (nats://[user:password@|token@]host:port), send
        CONNECT and wait for the server to answer a PING."""
        u = urllib.parse.urlsplit(url if "://" in url else "nats://" + url)
        host, port = u.hostname or "127.0.0.1", u.port or 4222
        sock = socket.create_connection((host, port), timeout=timeout)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        c = cls(sock, {})
        line = c._read_line(timeout)
        if not line.startswith(b"INFO "):
            raise NATSError("expected INFO, got %r" % line[:80])
        c.info = json.loads(line[5:])
        opts = {"verbose": False, "pedantic": False, "lang": "python", "version": "natsmini-1",
                "protocol": 1, "name": name, "headers": False}
        if u.username and u.password is not None:
            opts["user"] = urllib.parse.unquote(u.username)
            opts["pass"] = urllib.parse.unquote(u.password)
        elif u.username:
            opts["auth_token"] = urllib.parse.unquote(u.username)
        c._send(b"CONNECT " + json.dumps(opts, separators=(",", ":")).encode() + b"\r\n")
        c.flush(timeout)
        return c

    # ---- sending ----

    def _send(self, data):
        if self.closed:
            raise NATSError("connection closed")
        self._sock.sendall(data)

    def publish(self, subject, data=b"", reply=None):
        """Publish data (bytes or str) on subject, with an optional reply
        subject."""
        if isinstance(data, str):
            data = data.encode()
        head = "PUB %s %s%d\r\n" % (subject, reply + " " if reply else "", len(data))
        self._send(head.encode() + data + b"\r\n")

    def subscribe(self, subject, callback=None, queue=None):
        """Subscribe to subject (wildcards * and > allowed), optionally in a
        queue group. Messages go to callback(msg), or, without one, to
        next_msg. Returns the subscription id."""
        self._sid += 1
        sid = self._sid
        self._subs[sid] = callback
        self._send(("SUB %s %s%d\r\n" % (subject, queue + " " if queue else "", sid)).encode())
        return sid

    def unsubscribe(self, sid):
        """Stop the subscription sid."""
        self._subs.pop(sid, None)
        self._send(("UNSUB %d\r\n" % sid).encode())

    def flush(self, timeout=5.0):
        """Send PING and process messages until the matching PONG: the
        server has then processed everything sent before."""
        want = self._pongs + 1
        self._send(b"PING\r\n")
        deadline = time.monotonic() + timeout
        while self._pongs < want:
            left = deadline - time.monotonic()
            if left <= 0:
                raise NATSError("flush: no PONG within %.1f s" % timeout)
            self._read_one(left)

    # ---- receiving ----

    def next_msg(self, timeout=1.0):
        """Return the next message of a subscription without a callback,
        or None after timeout seconds."""
        deadline = time.monotonic() + timeout
        while not self._queue:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            try:
                self._read_one(left)
            except socket.timeout:
                return None
        return self._queue.popleft()

    def process(self, timeout=0.0):
        """Read and dispatch whatever arrives for up to timeout seconds."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0 and not self._buf:
                return
            try:
                self._read_one(max(left, 0.001))
            except socket.timeout:
                return

    def run(self):
        """Dispatch callbacks until the connection closes."""
        while not self.closed:
            try:
                self._read_one(None)
            except (socket.timeout, EOFError):
                if self.closed:
                    return
            except OSError:
                return

    def close(self):
        """Close the connection (no drain)."""
        if not self.closed:
            self.closed = True
            try:
                self._sock.close()
            except OSError:
                pass

    # ---- protocol parsing ----

    def _fill(self, timeout):
        self._sock.settimeout(timeout)
        chunk = self._sock.recv(65536)
        if not chunk:
            self.closed = True
            raise EOFError("connection closed by the server")
        self._buf += chunk

    def _read_line(self, timeout):
        while True:
            i = self._buf.find(b"\r\n")
            if i >= 0:
                line = bytes(self._buf[:i])
                del self._buf[: i + 2]
                return line
            self._fill(timeout)

    def _read_exact(self, n, timeout):
        while len(self._buf) < n:
            self._fill(timeout)
        data = bytes(self._buf[:n])
        del self._buf[:n]
        return data

    def _read_one(self, timeout):
        """Read and handle one protocol line (and its payload)."""
        line = self._read_line(timeout)
        if line.startswith(b"MSG "):
            parts = line.split()
            if len(parts) == 4:
                _, subject, sid, size = parts
                reply = None
            elif len(parts) == 5:
                _, subject, sid, reply, size = parts
                reply = reply.decode()
            else:
                raise NATSError("bad MSG line %r" % line[:80])
            data = self._read_exact(int(size) + 2, timeout)[:-2]
            m = Msg(subject.decode(), int(sid), reply, data)
            if m.sid in self._subs:
                cb = self._subs[m.sid]
                if cb is None:
                    self._queue.append(m)
                else:
                    cb(m)
        elif line == b"PING":
            self._send(b"PONG\r\n")
        elif line == b"PONG":
            self._pongs += 1
        elif line.startswith(b"-ERR"):
            raise NATSError(line[5:].decode(errors="replace").strip(" '"))
        elif line.startswith(b"INFO ") or line == b"+OK" or not line:
            pass
        else:
            raise NATSError("unexpected %r" % line[:80])
