# shellcheck shell=bash
# tests/lab/rdg.sh — a test RD Gateway (MS-TSGU over HTTPS, tests/e2e/rdg_gateway.py) for the
# loopback lab, to be sourced after tests/lab/lab.sh (and tests/lab/kdc.sh for Kerberos):
#
#   source tests/lab/lab.sh; source tests/lab/rdg.sh
#   lab_init
#   rdg_add_ntlm_user gwuser 'GwPassw0rd!' GW       # gss-ntlmssp's users file (NTLM at the gateway)
#   rdg_add_http_service                              # HTTP/localhost in the KDC + a keytab (Kerberos)
#   rdg_start [--websocket off] [--extauth-ntlm] [--require-channel-bindings] [--final-token off]
#             [--error-token off] [--bindings-cert "$(rdg_other_cert)"]
#   lab_connect "$LAB_SHADOW_PORT" 'Passw0rd!' "/gateway:g:localhost:$RDG_PORT,u:gwuser,d:GW,p:..." ...
#   rdg_stop
#
# (FreeRDP 3.10 ignores the port of /gateway:g:HOST:PORT; an .rdp file's gatewayhostname:s:HOST:PORT
# reaches it: tests/e2e/gateway_lib.sh does that.)
#
# The gateway listens on 127.0.0.1:RDG_PORT (a free port) with the lab's throwaway certificate
# (lab_make_cert), authenticates with MIT GSSAPI's SPNEGO acceptor (Kerberos from RDG_KEYTAB,
# NTLM from gss-ntlmssp and RDG_USERS) and forwards only to loopback targets. It is stopped by
# rdg_stop or lab_cleanup (it is tracked like every lab process), and exits by itself after
# LAB_LIFETIME seconds. gss-ntlmssp is registered through a private GSS_MECH_CONFIG, so the
# machine's /etc/gss/mech.d does not matter.
#
# Outputs: RDG_PORT RDG_PID RDG_LOG RDG_USERS RDG_KEYTAB RDG_SPN (HTTP/localhost)
# Needs: python3 with the gssapi module (python3-gssapi), gss-ntlmssp, openssl.

RDG_PORT=""
RDG_PID=""
RDG_LOG=""
RDG_USERS=""
RDG_KEYTAB=""
RDG_SPN="HTTP/localhost"
RDG_PYTHON=""
_RDG_N=0
_RDG_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/../e2e" && pwd)"

rdg_log() { printf '[rdg] %s\n' "$*" >&2; }

# rdg_python — prints a python3 that can import gssapi (Debian's, not a pyenv one); sets RDG_PYTHON.
rdg_python() {
	local p
	for p in /usr/bin/python3 "$(command -v python3 2>/dev/null)"; do
		if [ -z "$p" ] || [ ! -x "$p" ]; then
			continue
		fi
		if "$p" -c 'import gssapi' >/dev/null 2>&1; then
			RDG_PYTHON="$p"
			printf '%s\n' "$p"
			return 0
		fi
	done
	rdg_log "no python3 with the gssapi module (install python3-gssapi)"
	return 1
}

# rdg_ntlmssp_so — prints the path of gss-ntlmssp's GSSAPI mechanism module.
rdg_ntlmssp_so() {
	local f
	for f in /usr/lib/*/gssntlmssp/gssntlmssp.so /usr/lib64/gssntlmssp/gssntlmssp.so \
		/usr/lib/gssntlmssp/gssntlmssp.so; do
		[ -f "$f" ] && { printf '%s\n' "$f"; return 0; }
	done
	rdg_log "gss-ntlmssp is not installed (its gssntlmssp.so was not found)"
	return 1
}

# rdg_available — true when everything the gateway needs is installed; prints what is missing.
rdg_available() {
	rdg_python >/dev/null && rdg_ntlmssp_so >/dev/null && lab_require openssl
}

# rdg_add_ntlm_user USER PASSWORD [DOMAIN] — a line of gss-ntlmssp's users file in smbpasswd
# form (DOMAIN\USER:0:no LM hash:NT hash:...), so the file holds no cleartext password; the NT
# hash comes from winpr-hash3. gss-ntlmssp matches the user by name, and the domain when both the
# line and the client name one.
rdg_add_ntlm_user() {
	lab_require winpr-hash3 || return 1
	local nt name="$1"
	nt="$(winpr-hash3 -u "$1" -p "$2")" || { rdg_log "winpr-hash3 failed"; return 1; }
	[ -n "${3:-}" ] && name="$3\\$1"
	RDG_USERS="${RDG_USERS:-$LAB_DIR/rdg-ntlm-users}"
	printf '%s:0:%s:%s:[U          ]:LCT-00000000:\n' "$name" XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX "$nt" \
		>>"$RDG_USERS" || return 1
	chmod 600 "$RDG_USERS"
}

# rdg_add_http_service [HOST] — HTTP/HOST (default localhost) in the running throwaway realm
# (tests/lab/kdc.sh) and in the gateway's keytab RDG_KEYTAB.
rdg_add_http_service() {
	local host="${1:-localhost}"
	[ -n "${KDC_DIR:-}" ] || { rdg_log "rdg_add_http_service: start the KDC first (kdc.sh)"; return 1; }
	RDG_SPN="HTTP/$host"
	RDG_KEYTAB="${RDG_KEYTAB:-$LAB_DIR/rdg-http.keytab}"
	if ! kdc_kadmin "addprinc -randkey $RDG_SPN" || ! kdc_kadmin "ktadd -k $RDG_KEYTAB $RDG_SPN"; then
		rdg_log "could not add $RDG_SPN to the realm"
		return 1
	fi
}

# rdg_start [GATEWAY OPTIONS...] — starts the gateway on a free port and waits until it listens;
# sets RDG_PORT/PID/LOG. RDG_WANT_PORT=443 asks for that port (root; the man page's example names
# no port, and FreeRDP 3.10 ignores one: tests/e2e/man_settings.sh). Options
# (tests/e2e/rdg_gateway.py): --websocket on|off, --extauth-ntlm, --require-channel-bindings, --error-token on|off, --final-token on|off, --bindings-cert PEM.
rdg_start() {
	rdg_available || return 1
	[ -n "$LAB_CERT" ] || lab_make_cert || return 1
	local so mech
	so="$(rdg_ntlmssp_so)" || return 1
	mech="$LAB_DIR/rdg-gss-mech"
	printf 'gssntlmssp_v1\t1.3.6.1.4.1.311.2.2.10\t%s\n' "$so" >"$mech"
	_RDG_N=$((_RDG_N + 1))
	RDG_LOG="$LAB_DIR/logs/rdg-gateway.$_RDG_N.log"
	local attempt i
	for attempt in 1 2 3; do
		if [ -n "${RDG_WANT_PORT:-}" ]; then
			RDG_PORT="$RDG_WANT_PORT"
		else
			RDG_PORT="$(lab_free_port)" || return 1
		fi
		: >"$RDG_LOG"
		# The acceptors' environment only: the gateway's keytab and users, gss-ntlmssp registered.
		# Its log lines and any Python traceback go to the same file (both append).
		# shellcheck disable=SC2094
		GSSNTLMSSP_DEBUG="$LAB_DIR/logs/gssntlmssp.$_RDG_N.log" GSS_MECH_CONFIG="$mech" NTLM_USER_FILE="${RDG_USERS:-$LAB_DIR/rdg-ntlm-users}" \
			KRB5_KTNAME="FILE:${RDG_KEYTAB:-$LAB_DIR/rdg-no.keytab}" \
			timeout -k 5 "${LAB_LIFETIME:-900}" "$RDG_PYTHON" -u "$_RDG_DIR/rdg_gateway.py" \
			--port "$RDG_PORT" --cert "$LAB_CERT" --key "$LAB_KEY" --log "$RDG_LOG" \
			--lifetime "${LAB_LIFETIME:-900}" "$@" >>"$RDG_LOG" 2>&1 </dev/null &
		RDG_PID=$!
		_lab_track "$RDG_PID" rdg-gateway
		for ((i = 0; i < ${LAB_START_TIMEOUT:-20} * 10; i++)); do
			grep -q 'listening on' "$RDG_LOG" 2>/dev/null && break
			kill -0 "$RDG_PID" 2>/dev/null || break
			sleep 0.1
		done
		if grep -q 'listening on' "$RDG_LOG" 2>/dev/null && lab_wait_port "$RDG_PORT" 5 "$RDG_PID"; then
			lab_log "RD Gateway on 127.0.0.1:$RDG_PORT (pid $RDG_PID) $*"
			return 0
		fi
		lab_log "the RD Gateway did not come up (attempt $attempt of 3)"
		lab_tail "$RDG_LOG" 10
		lab_stop "$RDG_PID" rdg-gateway
	done
	return 1
}

# rdg_other_cert — prints the path of a second throwaway certificate (made once), whose channel
# bindings are not those of the gateway's TLS channel (rdg_start --bindings-cert).
rdg_other_cert() {
	local crt="$LAB_DIR/rdg-other.crt"
	if [ ! -f "$crt" ]; then
		openssl req -x509 -newkey rsa:2048 -nodes -sha256 -days 2 -subj "/CN=not-the-gateway" \
			-keyout "$LAB_DIR/rdg-other.key" -out "$crt" >>"$LAB_DIR/logs/openssl.log" 2>&1 || {
			rdg_log "openssl could not make a second certificate"
			return 1
		}
	fi
	printf '%s\n' "$crt"
}

rdg_stop() {
	lab_stop "$RDG_PID" rdg-gateway
	RDG_PID=""
}
