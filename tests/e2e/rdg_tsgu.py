# The MS-TSGU HTTP transport's tunnel packets (MS-TSGU 2.2.10) for the test gateway
# (tests/e2e/rdg_gateway.py): what a Remote Desktop Gateway answers to FreeRDP's rdg.c after the
# RDG_OUT_DATA / RDG_IN_DATA channels are up, and the forwarding of the RDP bytes to the target.
#
# Client -> gateway: HANDSHAKE_REQUEST, [EXTENDED_AUTH_MSG ...], TUNNEL_CREATE, TUNNEL_AUTH,
# CHANNEL_CREATE, then DATA / KEEPALIVE / CLOSE_CHANNEL(_RESPONSE). Each packet starts with
# type (u16), reserved (u16), packetLength (u32, header included), all little endian.
import socket
import struct
import threading

PKT_HANDSHAKE_REQUEST = 0x1
PKT_HANDSHAKE_RESPONSE = 0x2
PKT_EXTENDED_AUTH_MSG = 0x3
PKT_TUNNEL_CREATE = 0x4
PKT_TUNNEL_RESPONSE = 0x5
PKT_TUNNEL_AUTH = 0x6
PKT_TUNNEL_AUTH_RESPONSE = 0x7
PKT_CHANNEL_CREATE = 0x8
PKT_CHANNEL_RESPONSE = 0x9
PKT_DATA = 0xA
PKT_SERVICE_MESSAGE = 0xB
PKT_REAUTH_MESSAGE = 0xC
PKT_KEEPALIVE = 0xD
PKT_CLOSE_CHANNEL = 0x10
PKT_CLOSE_CHANNEL_RESPONSE = 0x11

EXT_AUTH_NONE = 0x0
EXT_AUTH_SSPI_NTLM = 0x4

# HRESULTs the gateway answers with (MS-TSGU 2.2.6).
S_OK = 0
E_PROXY_INTERNALERROR = 0x800759D8
E_PROXY_NOTSUPPORTED = 0x000059E8
E_PROXY_RAP_ACCESSDENIED = 0x800759DA
E_PROXY_TS_CONNECTFAILED = 0x000059DD
SEC_E_LOGON_DENIED = 0x8009030C

MAX_PACKET = 1 << 20
_HDR = struct.Struct("<HHI")


class ProtocolError(Exception):
    """The client broke MS-TSGU; the message says how."""


def packet(ptype, payload=b""):
    return _HDR.pack(ptype, 0, _HDR.size + len(payload)) + payload


def read_packet(stream):
    """One packet from a byte stream (an object with read_exact(n) -> bytes or None at EOF).
    Returns (type, payload) or None at a clean EOF between packets."""
    hdr = stream.read_exact(_HDR.size)
    if hdr is None:
        return None
    ptype, _, length = _HDR.unpack(hdr)
    if length < _HDR.size or length > MAX_PACKET:
        raise ProtocolError("packet type 0x%x with length %d" % (ptype, length))
    payload = stream.read_exact(length - _HDR.size) if length > _HDR.size else b""
    if payload is None:
        raise ProtocolError("connection closed inside a packet of type 0x%x" % ptype)
    return ptype, payload


def _utf16(data):
    return data.decode("utf-16-le", errors="replace").rstrip("\0")


def parse_handshake(p):
    if len(p) < 6:
        raise ProtocolError("short HANDSHAKE_REQUEST")
    major, minor, client_version, ext_auth = struct.unpack_from("<BBHH", p)
    return major, minor, client_version, ext_auth


def parse_ext_auth(p):
    if len(p) < 6:
        raise ProtocolError("short EXTENDED_AUTH_MSG")
    err, blob_len = struct.unpack_from("<IH", p)
    blob = p[6:6 + blob_len]
    if len(blob) != blob_len:
        raise ProtocolError("EXTENDED_AUTH_MSG blob runs past the packet")
    return err, blob


def parse_tunnel_auth(p):
    if len(p) < 4:
        raise ProtocolError("short TUNNEL_AUTH")
    _fields, name_len = struct.unpack_from("<HH", p)
    if 4 + name_len > len(p):
        raise ProtocolError("TUNNEL_AUTH client name runs past the packet")
    return _utf16(p[4:4 + name_len])


def parse_channel_create(p):
    if len(p) < 8:
        raise ProtocolError("short CHANNEL_CREATE")
    resources, _alt, port, protocol, name_len = struct.unpack_from("<BBHHH", p)
    if resources < 1 or 8 + name_len > len(p):
        raise ProtocolError("CHANNEL_CREATE without a usable resource name")
    return _utf16(p[8:8 + name_len]), port, protocol


def handshake_response(error, ext_auth):
    return packet(PKT_HANDSHAKE_RESPONSE, struct.pack("<IBBHH", error, 1, 0, 0, ext_auth))


def ext_auth_msg(error, blob=b""):
    return packet(PKT_EXTENDED_AUTH_MSG, struct.pack("<IH", error, len(blob)) + blob)


def tunnel_response(error, tunnel_id):
    # fieldsPresent: TUNNEL_ID (0x1) | CAPS (0x2); capabilities: none beyond the basics.
    return packet(PKT_TUNNEL_RESPONSE, struct.pack("<HIHHII", 1, error, 0x3, 0, tunnel_id, 0))


def tunnel_auth_response(error):
    return packet(PKT_TUNNEL_AUTH_RESPONSE, struct.pack("<IHH", error, 0, 0))


def channel_response(error, channel_id):
    return packet(PKT_CHANNEL_RESPONSE, struct.pack("<IHHI", error, 0x1, 0, channel_id))


def data_packet(data):
    return packet(PKT_DATA, struct.pack("<H", len(data)) + data)


def close_channel(status=0):
    return packet(PKT_CLOSE_CHANNEL, struct.pack("<I", status))


def close_channel_response(status=0):
    return packet(PKT_CLOSE_CHANNEL_RESPONSE, struct.pack("<I", status))


class Tunnel:
    """The gateway side of one tunnel: `inbound` yields the client's bytes (the RDG_IN_DATA
    chunked body or the WebSocket's payload), `send` writes to the client (RDG_OUT_DATA or the
    WebSocket). `ext_auth` is None or a callable(blob) -> (done, out_blob, user) that runs the
    SSPI_NTLM extended authentication and raises on failure. `authenticated` says whether the
    HTTP layer authenticated the client already. `allow_target(host)` vets CHANNEL_CREATE."""

    def __init__(self, log, name, inbound, send, authenticated, ext_auth, allow_target):
        self.log = log
        self.name = name
        self.inbound = inbound
        self.send = send
        self.authenticated = authenticated
        self.ext_auth = ext_auth
        self.allow_target = allow_target
        self.backend = None
        self.to_target = 0
        self.to_client = 0

    def _expect(self, want, what):
        got = read_packet(self.inbound)
        if got is None:
            raise ProtocolError("the client closed the tunnel before %s" % what)
        if got[0] != want:
            raise ProtocolError("expected %s (0x%x), got packet type 0x%x" % (what, want, got[0]))
        return got[1]

    def run(self):
        major, minor, _, ext = parse_handshake(self._expect(PKT_HANDSHAKE_REQUEST, "HANDSHAKE_REQUEST"))
        if ext == EXT_AUTH_SSPI_NTLM and self.ext_auth is None:
            self.log("%s: refusing: the client asks for SSPI_NTLM extended authentication, which this gateway "
                     "does not offer (start it with --extauth-ntlm)" % self.name)
            self.send(handshake_response(E_PROXY_NOTSUPPORTED, EXT_AUTH_NONE))
            return
        if ext != EXT_AUTH_SSPI_NTLM and not self.authenticated:
            self.log("%s: refusing: the tunnel was not authenticated" % self.name)
            self.send(handshake_response(E_PROXY_RAP_ACCESSDENIED, EXT_AUTH_NONE))
            return
        self.send(handshake_response(S_OK, ext))
        self.log("%s: handshake (version %d.%d, extended auth 0x%x)" % (self.name, major, minor, ext))
        if ext == EXT_AUTH_SSPI_NTLM and not self._extended_auth():
            return
        self._expect(PKT_TUNNEL_CREATE, "TUNNEL_CREATE")
        self.send(tunnel_response(S_OK, 1))
        client = parse_tunnel_auth(self._expect(PKT_TUNNEL_AUTH, "TUNNEL_AUTH"))
        self.send(tunnel_auth_response(S_OK))
        self.log("%s: tunnel authorized for client machine '%s'" % (self.name, client))
        host, port, _ = parse_channel_create(self._expect(PKT_CHANNEL_CREATE, "CHANNEL_CREATE"))
        if not self._open_channel(host, port):
            return
        self._forward()

    def _extended_auth(self):
        while True:
            _, blob = parse_ext_auth(self._expect(PKT_EXTENDED_AUTH_MSG, "EXTENDED_AUTH_MSG"))
            try:
                done, out = self.ext_auth(blob)
            except Exception:  # the callable logged why
                self.send(ext_auth_msg(SEC_E_LOGON_DENIED))
                return False
            if done:
                # FreeRDP takes an empty blob with success as "authenticated, go on".
                self.send(ext_auth_msg(S_OK))
                self.authenticated = True
                return True
            self.send(ext_auth_msg(S_OK, out))

    def _open_channel(self, host, port):
        if not self.allow_target(host):
            self.log("%s: refusing channel to %s:%d: only loopback targets are allowed" % (self.name, host, port))
            self.send(channel_response(E_PROXY_RAP_ACCESSDENIED, 0))
            return False
        try:
            self.backend = socket.create_connection((host, port), timeout=10)
            self.backend.settimeout(None)
        except OSError as e:
            self.log("%s: cannot reach %s:%d: %s" % (self.name, host, port, e))
            self.send(channel_response(E_PROXY_TS_CONNECTFAILED, 0))
            return False
        self.send(channel_response(S_OK, 1))
        self.log("%s: channel open to %s:%d" % (self.name, host, port))
        return True

    def _pump_target(self):
        try:
            while True:
                data = self.backend.recv(16384)
                if not data:
                    break
                self.to_client += len(data)
                self.send(data_packet(data))
            self.send(close_channel(S_OK))
        except OSError:
            pass

    def _forward(self):
        pump = threading.Thread(target=self._pump_target, daemon=True)
        pump.start()
        try:
            while True:
                got = read_packet(self.inbound)
                if got is None:
                    break
                ptype, p = got
                if ptype == PKT_DATA:
                    if len(p) < 2:
                        raise ProtocolError("short DATA packet")
                    (n,) = struct.unpack_from("<H", p)
                    data = p[2:2 + n]
                    self.to_target += len(data)
                    self.backend.sendall(data)
                elif ptype == PKT_KEEPALIVE:
                    self.send(packet(PKT_KEEPALIVE))
                elif ptype == PKT_CLOSE_CHANNEL:
                    self.send(close_channel_response(S_OK))
                    break
                elif ptype == PKT_CLOSE_CHANNEL_RESPONSE:
                    break
                else:
                    self.log("%s: ignoring packet type 0x%x" % (self.name, ptype))
        finally:
            try:
                self.backend.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            self.backend.close()
            pump.join(5)
            self.log("%s: channel closed: %d bytes client->target, %d bytes target->client"
                     % (self.name, self.to_target, self.to_client))
