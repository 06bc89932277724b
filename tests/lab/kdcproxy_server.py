#!/usr/bin/python3
"""A KDC proxy (MS-KKDCP) for the loopback lab: FreeIPA's kdcproxy WSGI application (Debian's
python3-kdcproxy) served by wsgiref behind TLS, on 127.0.0.1 only. Used by tests/lab/kdcproxy.sh.

Each request is logged as one line, e.g. "kdcproxy: AS-REQ LAB.TEST (162 bytes) -> 200 OK", so
that a test can tell that (and which) Kerberos exchanges went through the proxy. Its KDCs come
from the kdcproxy configuration named by KDCPROXY_CONFIG.
"""
import argparse
import io
import os
import ssl
import sys
import threading
import time
from wsgiref.simple_server import WSGIRequestHandler, make_server

import kdcproxy
import kdcproxy.codec as codec


def log(text):
    print(text, flush=True)


class Logged:
    """Wraps kdcproxy.Application: decodes each request once more to name it in the log."""

    def __init__(self):
        self.app = kdcproxy.Application()

    def __call__(self, env, start_response):
        try:
            length = int(env.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        body = env["wsgi.input"].read(length) if length > 0 else b""
        env["wsgi.input"] = io.BytesIO(body)
        try:
            what = str(codec.decode(body))
            kind = "AS-REQ" if "AS-REQ" in what else "TGS-REQ" if "TGS-REQ" in what else "other"
        except Exception as e:  # not a KDC-PROXY-MESSAGE: kdcproxy answers 400 itself
            what, kind = "undecodable request (%s)" % e, "bad"
        status = []

        def record(s, headers, exc_info=None):
            status.append(s)
            return start_response(s, headers, exc_info)

        result = self.app(env, record)
        log("kdcproxy: %s %s -> %s" % (kind, what, status[0] if status else "?"))
        return result


class Quiet(WSGIRequestHandler):
    def log_message(self, format, *args):
        pass


def exit_with(pid):
    """Ends this process once `pid` (the test that started us) is gone, however it ended."""
    while True:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            os._exit(0)
        except PermissionError:
            pass
        time.sleep(0.5)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--cert", required=True)
    p.add_argument("--key", required=True)
    p.add_argument("--watch-pid", type=int, default=0, help="exit when this process is gone")
    a = p.parse_args()
    if a.watch_pid > 0:
        threading.Thread(target=exit_with, args=(a.watch_pid,), daemon=True).start()
    server = make_server("127.0.0.1", a.port, Logged(), handler_class=Quiet)
    tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    tls.load_cert_chain(a.cert, a.key)
    server.socket = tls.wrap_socket(server.socket, server_side=True)
    log("kdcproxy: listening on https://127.0.0.1:%d/KdcProxy" % a.port)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
