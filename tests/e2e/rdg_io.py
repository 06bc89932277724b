# Byte plumbing for the test gateway (tests/e2e/rdg_gateway.py): one thread per TLS connection
# does all of its reads and writes (an OpenSSL connection must not be read and written from two
# threads at once), and the MS-TSGU streams on top of it: the RDG_IN_DATA chunked body, the
# RDG_OUT_DATA raw stream, and WebSocket frames (RFC 6455) for the upgraded channel.
import os
import select
import socket
import ssl
import struct
import threading

MAX_HEADER = 64 * 1024


class HttpReader:
    """Reads HTTP/1.1 requests from a blocking socket, keeping what it read past them."""

    def __init__(self, sock):
        self.sock = sock
        self.buf = bytearray()

    def _more(self):
        data = self.sock.recv(65536)
        if not data:
            return False
        self.buf += data
        return True

    def request(self):
        """(method, path, headers dict with lower-case names) or None at EOF."""
        while b"\r\n\r\n" not in self.buf:
            if len(self.buf) > MAX_HEADER:
                raise ValueError("request header larger than %d bytes" % MAX_HEADER)
            if not self._more():
                return None
        end = self.buf.index(b"\r\n\r\n")
        head = bytes(self.buf[:end]).decode("latin-1")
        del self.buf[:end + 4]
        lines = head.split("\r\n")
        parts = lines[0].split(" ")
        if len(parts) != 3 or not parts[2].startswith("HTTP/1."):
            raise ValueError("not an HTTP/1.x request line: %r" % lines[0][:80])
        headers = {}
        for line in lines[1:]:
            name, sep, value = line.partition(":")
            if sep:
                headers[name.strip().lower()] = value.strip()
        length = int(headers.get("content-length", "0") or "0")
        if "chunked" not in headers.get("transfer-encoding", "").lower() and length:
            while len(self.buf) < length:
                if not self._more():
                    return None
            del self.buf[:length]  # an auth request's body means nothing here
        return parts[0], parts[1], headers

    def leftover(self):
        data = bytes(self.buf)
        self.buf.clear()
        return data


class TlsPump:
    """Owns a TLS socket after the HTTP phase: a thread moves bytes both ways; other threads
    read with read_exact/read_line and write with send."""

    def __init__(self, sock, leftover=b"", name="tls"):
        self.sock = sock
        self.inbuf = bytearray(leftover)
        self.out = bytearray()
        self.eof = False
        self.closing = False
        self.cv = threading.Condition()
        self.wake_r, self.wake_w = socket.socketpair()
        self.thread = threading.Thread(target=self._run, name=name, daemon=True)
        sock.setblocking(False)
        self.thread.start()

    def _wake(self):
        try:
            self.wake_w.send(b"x")
        except OSError:
            pass

    def send(self, data):
        with self.cv:
            if self.eof and self.closing:
                return
            self.out += data
        self._wake()

    def close(self):
        with self.cv:
            self.closing = True
        self._wake()
        self.thread.join(10)

    def _read_some(self):
        while True:
            try:
                data = self.sock.recv(65536)
            except (ssl.SSLWantReadError, ssl.SSLWantWriteError, BlockingIOError):
                return
            except OSError:
                data = b""
            with self.cv:
                if not data:
                    self.eof = True
                else:
                    self.inbuf += data
                self.cv.notify_all()
            if not data:
                return

    def _write_some(self):
        with self.cv:
            chunk = bytes(self.out[:16384])
        if not chunk:
            return
        try:
            n = self.sock.send(chunk)
        except (ssl.SSLWantReadError, ssl.SSLWantWriteError, BlockingIOError):
            return
        except OSError:
            with self.cv:
                self.out.clear()
                self.eof = True
                self.cv.notify_all()
            return
        with self.cv:
            del self.out[:n]

    def _run(self):
        try:
            while True:
                with self.cv:
                    want_write = bool(self.out)
                    if self.closing and not want_write:
                        break
                    reading = not self.eof
                rlist = [self.wake_r] + ([self.sock] if reading else [])
                r, w, _ = select.select(rlist, [self.sock] if want_write else [], [], 1.0)
                if self.wake_r in r:
                    self.wake_r.recv(4096)
                if reading and (self.sock in r or self.sock.pending()):
                    self._read_some()
                if self.sock in w:
                    self._write_some()
        finally:
            with self.cv:
                self.eof = True
                self.cv.notify_all()
            for s in (self.wake_r, self.wake_w):
                s.close()
            try:
                self.sock.setblocking(True)
                self.sock.settimeout(2)
                self.sock.unwrap()
            except (OSError, ValueError):
                pass
            self.sock.close()

    def read_exact(self, n):
        with self.cv:
            while len(self.inbuf) < n and not self.eof:
                self.cv.wait(1.0)
            if len(self.inbuf) < n:
                return None
            data = bytes(self.inbuf[:n])
            del self.inbuf[:n]
            return data

    def read_line(self, limit=1024):
        with self.cv:
            while b"\r\n" not in self.inbuf and not self.eof and len(self.inbuf) < limit:
                self.cv.wait(1.0)
            if b"\r\n" not in self.inbuf:
                return None
            end = self.inbuf.index(b"\r\n")
            line = bytes(self.inbuf[:end])
            del self.inbuf[:end + 2]
            return line


class ChunkedStream:
    """The RDG_IN_DATA request body (Transfer-Encoding: chunked) as a byte stream."""

    def __init__(self, pump):
        self.pump = pump
        self.buf = bytearray()
        self.done = False

    def _next_chunk(self):
        line = self.pump.read_line()
        if line is None:
            return False
        size = int(line.split(b";")[0].strip() or b"0", 16)
        if size == 0:
            self.done = True
            return False
        data = self.pump.read_exact(size)
        if data is None or self.pump.read_exact(2) != b"\r\n":
            return False
        self.buf += data
        return True

    def read_exact(self, n):
        while len(self.buf) < n:
            if self.done or not self._next_chunk():
                return None
        data = bytes(self.buf[:n])
        del self.buf[:n]
        return data


def ws_frame(payload, opcode=0x2):
    n = len(payload)
    if n < 126:
        head = struct.pack("!BB", 0x80 | opcode, n)
    elif n < 65536:
        head = struct.pack("!BBH", 0x80 | opcode, 126, n)
    else:
        head = struct.pack("!BBQ", 0x80 | opcode, 127, n)
    return head + payload


class WebSocketStream:
    """The client's WebSocket frames (masked, RFC 6455 5.3) as a byte stream; answers pings and
    closes. Writes go out as unmasked binary frames through `send`."""

    def __init__(self, pump):
        self.pump = pump
        self.buf = bytearray()
        self.closed = False

    def send(self, data):
        self.pump.send(ws_frame(data))

    def _frame(self):
        head = self.pump.read_exact(2)
        if head is None:
            return False
        opcode = head[0] & 0x0F
        masked = head[1] & 0x80
        n = head[1] & 0x7F
        if n == 126:
            ext = self.pump.read_exact(2)
            n = struct.unpack("!H", ext)[0] if ext else None
        elif n == 127:
            ext = self.pump.read_exact(8)
            n = struct.unpack("!Q", ext)[0] if ext else None
        if n is None or n > (1 << 24):
            return False
        key = self.pump.read_exact(4) if masked else b"\0\0\0\0"
        data = self.pump.read_exact(n) if n else b""
        if key is None or data is None:
            return False
        if masked:
            data = bytes(b ^ key[i % 4] for i, b in enumerate(data))
        if opcode in (0x0, 0x2):
            self.buf += data
        elif opcode == 0x9:
            self.pump.send(ws_frame(data, 0xA))
        elif opcode == 0x8:
            self.pump.send(ws_frame(data[:2], 0x8))
            self.closed = True
            return False
        return True

    def read_exact(self, n):
        while len(self.buf) < n:
            if self.closed or not self._frame():
                return None
        data = bytes(self.buf[:n])
        del self.buf[:n]
        return data


def random_seed(n=10):
    return os.urandom(n)
