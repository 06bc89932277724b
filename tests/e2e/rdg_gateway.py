#!/usr/bin/python3
# A test Remote Desktop Gateway: enough of MS-TSGU's HTTP transport for the stock xfreerdp3 to
# reach an RDP server on 127.0.0.1 through it, with the gateway's HTTP authentication done by
# real acceptors: MIT GSSAPI's SPNEGO (python3-gssapi), which uses Kerberos (the keytab in
# KRB5_KTNAME must hold HTTP/<gateway host>) and NTLM (gss-ntlmssp, users in NTLM_USER_FILE).
# Nothing here implements authentication by hand, and nlassp is never loaded.
#
#   rdg_gateway.py --port P --cert C --key K [--log FILE] [--websocket on|off] [--extauth-ntlm]
#                  [--require-channel-bindings] [--error-token on|off] [--final-token on|off]
#                  [--bindings-cert OTHER.pem]
#
# What it does, as FreeRDP's libfreerdp/core/gateway/rdg.c expects (3.10 and 3.15):
#   - RDG_OUT_DATA / RDG_IN_DATA on /remoteDesktopGateway/, authenticated with
#     "WWW-Authenticate: Negotiate": 401 + the acceptor's token while it continues, the final
#     token (Kerberos AP-REP / the SPNEGO accept-completed with mechListMIC) with the 200/101.
#     The acceptor gets the TLS channel bindings (tls-server-end-point of our certificate, or with
#     --bindings-cert of another one: what a client bound to this TLS channel sends must not
#     verify, which proves the acceptors check the bindings). With --final-token off the 101/200
#     carries no final token, as Microsoft's RD Gateway answers.
#   - RDG_OUT_DATA asking for a WebSocket upgrade gets 101 (one channel, RFC 6455 frames), or,
#     with --websocket off, a plain 200: FreeRDP then falls back to the two-channel transport
#     (200 + a 10-byte seed on RDG_OUT_DATA; RDG_IN_DATA's chunked body carries the client's
#     packets).
#   - "RDG-Auth-Scheme: SSPI_NTLM" (FreeRDP's /gateway:type:http,extauth-sspi-ntlm): no HTTP
#     authentication; NTLM runs inside the tunnel (EXTENDED_AUTH_MSG) through gss-ntlmssp.
#   - The tunnel: handshake, tunnel create, tunnel authorize, channel create (loopback targets
#     only), DATA both ways, keepalive, close (tests/e2e/rdg_tsgu.py).
# Every authentication is logged with the user and the mechanism, and every connection's end:
#   "conn#3 RDG_OUT_DATA: authenticated 'LAB\gwuser' with NTLM (HTTP Negotiate, channel bindings verified)"
#   "conn#3 RDG_OUT_DATA: authentication FAILED with NTLM (HTTP Negotiate): <GSSAPI message>; answered 401"
#   "conn#3: done" (nothing more is logged for conn#3 after it; tests wait for it, not for a time)
import argparse
import base64
import hashlib
import ipaddress
import socket
import ssl
import sys
import threading
import time

import gssapi
import gssapi.raw

import rdg_io
import rdg_tsgu

WS_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
MECH_NAMES = {
    "1.2.840.113554.1.2.2": "Kerberos",
    "1.2.840.48018.1.2.2": "Kerberos",
    "1.3.6.1.4.1.311.2.2.10": "NTLM",
    "1.3.6.1.5.5.2": "SPNEGO",
}
NTLM_OID = gssapi.OID.from_int_seq("1.3.6.1.4.1.311.2.2.10")
# Signature algorithm OIDs (DER contents) -> the hash RFC 5929's tls-server-end-point uses.
SIG_HASHES = {
    bytes.fromhex("2a864886f70d01010b"): "sha256",  # sha256WithRSAEncryption
    bytes.fromhex("2a864886f70d01010c"): "sha384",
    bytes.fromhex("2a864886f70d01010d"): "sha512",
    bytes.fromhex("2a8648ce3d040302"): "sha256",    # ecdsa-with-SHA256
    bytes.fromhex("2a8648ce3d040303"): "sha384",
    bytes.fromhex("2a8648ce3d040304"): "sha512",
}

_log_lock = threading.Lock()
_log_file = sys.stdout


def log(msg):
    with _log_lock:
        _log_file.write("[rdg-gateway] %s %s\n" % (time.strftime("%H:%M:%S"), msg))
        _log_file.flush()


def _der_item(data, pos):
    """(tag, contents start, end) of the DER item at pos."""
    tag, n = data[pos], data[pos + 1]
    pos += 2
    if n & 0x80:
        k = n & 0x7F
        n = int.from_bytes(data[pos:pos + k], "big")
        pos += k
    return tag, pos, pos + n


def channel_bindings_data(cert_pem_path):
    """b"tls-server-end-point:" + hash(certificate DER), the application data FreeRDP's TLS
    layer passes as SECBUFFER_CHANNEL_BINDINGS (RFC 5929 4.1: MD5/SHA-1 signatures use SHA-256)."""
    with open(cert_pem_path) as f:
        der = ssl.PEM_cert_to_DER_cert(f.read())
    _, start, _ = _der_item(der, 0)              # Certificate SEQUENCE
    _, _, tbs_end = _der_item(der, start)        # tbsCertificate
    _, alg_start, _ = _der_item(der, tbs_end)    # signatureAlgorithm SEQUENCE
    _, oid_start, oid_end = _der_item(der, alg_start)
    name = SIG_HASHES.get(der[oid_start:oid_end], "sha256")
    return b"tls-server-end-point:" + hashlib.new(name, der).digest()


def mech_name(oid):
    return MECH_NAMES.get(oid.dotted_form if oid is not None else "", str(oid))


def mech_in_token(token):
    """For failure lines only: which mechanism a SPNEGO token carries."""
    return "NTLM" if b"NTLMSSP\0" in token else "Kerberos"


class AuthFailed(Exception):
    def __init__(self, reason, token=None):
        super().__init__(reason)
        self.token = token


class Acceptor:
    """One GSSAPI acceptor context (SPNEGO for HTTP Negotiate, NTLM for SSPI_NTLM)."""

    def __init__(self, opts, via, mech=None):
        self.opts = opts
        self.via = via
        self.seen = "?"
        cb = gssapi.raw.ChannelBindings(application_data=opts.bindings)
        creds = gssapi.Credentials(usage="accept", mechs=[mech]) if mech else None
        self.ctx = gssapi.SecurityContext(usage="accept", creds=creds, channel_bindings=cb)

    def step(self, token):
        if self.seen == "?":
            self.seen = mech_in_token(token)
        # python-gssapi returns the acceptor's error token (e.g. SPNEGO's reject) from step() and
        # raises the error at the next access to the context.
        out = None
        try:
            out = self.ctx.step(token)
            complete = self.ctx.complete
        except gssapi.exceptions.GSSError as e:
            raise AuthFailed(" ".join(str(e).split()), getattr(e, "token", None) or out)
        if not complete:
            return False, out
        bound = gssapi.RequirementFlag.channel_bound in self.ctx.actual_flags
        if self.opts.require_channel_bindings and not bound:
            raise AuthFailed("the client's channel bindings are missing (this gateway requires them)")
        self.user = str(self.ctx.initiator_name).rstrip("\0 ")
        self.mech = mech_name(self.ctx.mech)
        self.bound = bound
        return True, out

    def describe(self):
        return "'%s' with %s (%s, %s)" % (self.user, self.mech, self.via,
                                          "channel bindings verified" if self.bound else "no channel bindings")


class Pairing:
    """Joins a legacy tunnel's RDG_OUT_DATA and RDG_IN_DATA connections by RDG-Connection-Id."""

    def __init__(self):
        self.cv = threading.Condition()
        self.inbound = {}
        self.done = {}

    def offer_in(self, conn_id, stream):
        with self.cv:
            self.inbound[conn_id] = stream
            self.done[conn_id] = threading.Event()
            self.cv.notify_all()
            return self.done[conn_id]

    def take_in(self, conn_id, timeout=30):
        with self.cv:
            self.cv.wait_for(lambda: conn_id in self.inbound, timeout)
            stream = self.inbound.pop(conn_id, None)
            return stream, self.done.pop(conn_id, None)


class Connection:
    def __init__(self, opts, pairing, sock, number):
        self.opts = opts
        self.pairing = pairing
        self.sock = sock
        self.name = "conn#%d" % number
        self.reader = rdg_io.HttpReader(sock)
        self.acceptor = None
        self.authenticated = None

    def respond(self, code, reason, headers=(), body=b""):
        lines = ["HTTP/1.1 %d %s" % (code, reason), "Server: nlassp-test-gateway"]
        lines += ["%s: %s" % h for h in headers]
        self.sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body)

    def run(self):
        try:
            while True:
                req = self.reader.request()
                if req is None:
                    return
                if not self.handle(*req):
                    return
        except (OSError, ValueError, rdg_tsgu.ProtocolError) as e:
            log("%s: closed: %s" % (self.name, e))
        except Exception as e:  # a bug here must show in the log, not kill the thread silently
            log("%s: internal error: %r" % (self.name, e))
        finally:
            self.sock.close()

    def handle(self, method, path, headers):
        """One request; returns False when the connection is done with HTTP."""
        if method not in ("RDG_OUT_DATA", "RDG_IN_DATA") or path.split("?")[0].lower() != "/remotedesktopgateway/":
            log("%s: %s %s: not an RD Gateway request; answered 404" % (self.name, method, path))
            self.respond(404, "Not Found", [("Content-Length", "0")])
            return False
        channel = "%s %s" % (self.name, method)
        scheme = headers.get("rdg-auth-scheme", "")
        final = None
        if scheme.upper() == "SSPI_NTLM" and self.opts.extauth_ntlm:
            self.authenticated = "extended"  # NTLM runs inside the tunnel
        elif not self.authenticated:
            ok, final = self.http_negotiate(channel, headers)
            if not ok:
                return final  # True: keep the connection for the next round
        conn_id = headers.get("rdg-connection-id", "")
        if method == "RDG_OUT_DATA":
            self.out_channel(channel, headers, conn_id, final)
        else:
            self.in_channel(channel, headers, conn_id, final)
        return False

    def http_negotiate(self, channel, headers):
        auth = headers.get("authorization", "")
        scheme, _, b64 = auth.partition(" ")
        if scheme.lower() != "negotiate" or not b64.strip():
            self.respond(401, "Unauthorized", [("WWW-Authenticate", "Negotiate"), ("Content-Length", "0")])
            return False, True
        if self.acceptor is None:
            self.acceptor = Acceptor(self.opts, "HTTP Negotiate")
        try:
            done, out = self.acceptor.step(base64.b64decode(b64.strip()))
        except (AuthFailed, ValueError) as e:
            token = getattr(e, "token", None) if self.opts.error_token == "on" else None
            log("%s: authentication FAILED with %s (HTTP Negotiate): %s; answered 401%s"
                % (channel, self.acceptor.seen, e, " with the acceptor's error token" if token else ""))
            hdr = "Negotiate " + base64.b64encode(token).decode() if token else "Negotiate"
            self.respond(401, "Unauthorized", [("WWW-Authenticate", hdr), ("Content-Length", "0"),
                                               ("Connection", "close")])
            return False, False
        if not done:
            self.respond(401, "Unauthorized", [("WWW-Authenticate", "Negotiate " + base64.b64encode(out).decode()),
                                               ("Content-Length", "0")])
            return False, True
        self.authenticated = self.acceptor.user
        log("%s: authenticated %s%s" % (channel, self.acceptor.describe(),
                                        "; final token withheld (--final-token off)"
                                        if out and self.opts.final_token == "off" else ""))
        return True, out

    def auth_headers(self, final):
        """The acceptor's final token (the SPNEGO accept-completed with its mechListMIC, or the
        Kerberos AP-REP) in the 101/200, unless --final-token off: Microsoft's RD Gateway sends
        none there (RFC 4559 section 5 makes it optional)."""
        if not final or self.opts.final_token == "off":
            return []
        return [("WWW-Authenticate", "Negotiate " + base64.b64encode(final).decode())]

    def out_channel(self, channel, headers, conn_id, final):
        wants_ws = "websocket" in headers.get("upgrade", "").lower()
        if wants_ws and self.opts.websocket == "on":
            key = headers.get("sec-websocket-key", "")
            accept = base64.b64encode(hashlib.sha1((key + WS_GUID).encode()).digest()).decode()
            self.respond(101, "Switching Protocols", [("Upgrade", "websocket"), ("Connection", "Upgrade"),
                                                      ("Sec-WebSocket-Accept", accept)] + self.auth_headers(final))
            log("%s: upgraded to WebSocket" % channel)
            pump = rdg_io.TlsPump(self.sock, self.reader.leftover(), self.name)
            ws = rdg_io.WebSocketStream(pump)
            self.tunnel(channel, ws, ws.send)
            pump.close()
            return
        if wants_ws:
            log("%s: WebSocket upgrade refused (--websocket off): answering 200, the client falls back "
                "to RDG_OUT_DATA + RDG_IN_DATA" % channel)
        self.respond(200, "OK", [("Content-Type", "application/octet-stream"), ("Connection", "Keep-Alive")]
                     + self.auth_headers(final), rdg_io.random_seed())
        pump = rdg_io.TlsPump(self.sock, self.reader.leftover(), self.name)
        inbound, done = self.pairing.take_in(conn_id)
        if inbound is None:
            log("%s: no RDG_IN_DATA channel arrived for connection id %s" % (channel, conn_id))
        else:
            self.tunnel(channel, inbound, pump.send)
            done.set()
        pump.close()

    def in_channel(self, channel, headers, conn_id, final):
        self.respond(200, "OK", [("Content-Length", "0")] + self.auth_headers(final))
        req = self.reader.request()  # the chunked RDG_IN_DATA that carries the client's packets
        if req is None:
            return
        if "chunked" not in req[2].get("transfer-encoding", "").lower():
            log("%s: the data request is not chunked" % channel)
            return
        pump = rdg_io.TlsPump(self.sock, self.reader.leftover(), self.name + "-in")
        done = self.pairing.offer_in(conn_id, rdg_io.ChunkedStream(pump))
        done.wait(self.opts.lifetime)
        pump.close()

    def tunnel(self, channel, inbound, send):
        ext = None
        if self.authenticated == "extended":
            ext = ExtendedAuth(self.opts, channel)
        t = rdg_tsgu.Tunnel(log, channel, inbound, send, self.authenticated not in (None, "extended"),
                            ext, allow_target)
        try:
            t.run()
        except rdg_tsgu.ProtocolError as e:
            log("%s: tunnel ended: %s" % (channel, e))


class ExtendedAuth:
    """HTTP_EXTENDED_AUTH_SSPI_NTLM: raw NTLM messages in EXTENDED_AUTH_MSG, by gss-ntlmssp."""

    def __init__(self, opts, channel):
        self.channel = channel
        self.acceptor = Acceptor(opts, "SSPI_NTLM extended auth", NTLM_OID)

    def __call__(self, blob):
        try:
            done, out = self.acceptor.step(blob)
        except AuthFailed as e:
            log("%s: authentication FAILED with NTLM (SSPI_NTLM extended auth): %s" % (self.channel, e))
            raise
        if done:
            log("%s: authenticated %s" % (self.channel, self.acceptor.describe()))
        return done, out


def allow_target(host):
    try:
        addrs = {ai[4][0] for ai in socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)}
    except OSError:
        return False
    return bool(addrs) and all(ipaddress.ip_address(a.split("%")[0]).is_loopback for a in addrs)


def main():
    global _log_file
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--cert", required=True)
    ap.add_argument("--key", required=True)
    ap.add_argument("--log")
    ap.add_argument("--websocket", choices=("on", "off"), default="on")
    ap.add_argument("--extauth-ntlm", action="store_true")
    ap.add_argument("--require-channel-bindings", action="store_true")
    # "off": a refusal is a bare "401 + WWW-Authenticate: Negotiate" without the acceptor's error
    # token, as IIS / HTTP.sys answer; "on": the token MIT's SPNEGO made (a reject) goes along.
    ap.add_argument("--error-token", choices=("on", "off"), default="on")
    # "off": the 101/200 that ends a successful HTTP Negotiate carries no WWW-Authenticate, as
    # Microsoft's RD Gateway (HTTP.sys) answers; "on": the acceptor's final token goes along.
    ap.add_argument("--final-token", choices=("on", "off"), default="on")
    # The acceptors' channel bindings from this certificate instead of the one the TLS channel uses.
    ap.add_argument("--bindings-cert")
    ap.add_argument("--lifetime", type=int, default=600)
    opts = ap.parse_args()
    if opts.log:
        _log_file = open(opts.log, "a", buffering=1)
    opts.bindings = channel_bindings_data(opts.bindings_cert or opts.cert)
    tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    tls.minimum_version = ssl.TLSVersion.TLSv1_2
    tls.load_cert_chain(opts.cert, opts.key)
    srv = socket.create_server(("127.0.0.1", opts.port))
    srv.settimeout(1.0)
    log("listening on 127.0.0.1:%d (websocket %s%s%s%s%s)" % (
        opts.port, opts.websocket, ", SSPI_NTLM extended auth" if opts.extauth_ntlm else "",
        ", channel bindings required" if opts.require_channel_bindings else "",
        ", no final token" if opts.final_token == "off" else "",
        ", channel bindings of another certificate" if opts.bindings_cert else ""))
    pairing = Pairing()
    number = 0
    deadline = time.monotonic() + opts.lifetime
    while time.monotonic() < deadline:
        try:
            raw, _ = srv.accept()
        except socket.timeout:
            continue
        number += 1
        threading.Thread(target=serve, args=(opts, pairing, tls, raw, number), daemon=True).start()
    log("lifetime of %d s is over; exiting" % opts.lifetime)


def serve(opts, pairing, tls, raw, number):
    try:
        raw.settimeout(30)
        try:
            sock = tls.wrap_socket(raw, server_side=True)
        except (OSError, ssl.SSLError) as e:
            log("conn#%d: TLS handshake failed: %s" % (number, e))
            raw.close()
            return
        Connection(opts, pairing, sock, number).run()
    finally:
        log("conn#%d: done" % number)


if __name__ == "__main__":
    main()
