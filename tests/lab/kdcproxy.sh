# shellcheck shell=bash
# A KDC proxy (MS-KKDCP) in front of the lab's throwaway realm (tests/lab/kdc.sh), behind TLS with
# a throwaway private CA, on 127.0.0.1 only: FreeIPA's kdcproxy (python3-kdcproxy) served by
# tests/lab/kdcproxy_server.py. Source after kdc.sh, with the realm set up (kdc_setup; the KDC running
# when requests should get answers), then:
#
#   kdcproxy_setup [DIR]     # CA, server certificate for localhost/127.0.0.1, kdcproxy.conf, port
#   kdcproxy_start           # the proxy in the background; waits until it accepts TLS connections
#   kdcproxy_client_conf OUT [anchors|no-anchors] [kdc]
#                            # a krb5.conf like KRB5_CONFIG whose realm stanza has NO kdc (or, with
#                            # "kdc", kdc = the proxy URL: FreeRDP 3.10's workaround) and, with
#                            # "anchors" (the default), http_anchors = FILE:<the lab CA>
#   kdcproxy_count AS-REQ    # requests of that kind (AS-REQ, TGS-REQ) the proxy has relayed
#   kdcproxy_stop            # stops the proxy (by its pid); idempotent
#
# Exported after kdcproxy_setup: KDCPROXY_DIR (default $KDC_DIR/kdcproxy, so that the Debian 13
# tree of tests/lab/trixie.sh sees it at the same path), KDCPROXY_PORT, KDCPROXY_URL
# (https://localhost:PORT/KdcProxy), KDCPROXY_CA (the CA certificate, PEM), KDCPROXY_LOG.
# kdcproxy_setup chains kdcproxy_stop into the EXIT trap (unless _KDCPROXY_TRAP_SET is set), and
# the proxy ends by itself when the sourcing shell (or KDCPROXY_WATCH_PID) is gone.

KDCPROXY_PID=""

# The Python that has kdcproxy (Debian's /usr/bin/python3, not a python3 earlier in PATH).
_kdcproxy_python() {
	local p
	for p in "${KDCPROXY_PYTHON:-}" /usr/bin/python3 "$(command -v python3 2>/dev/null)"; do
		[ -n "$p" ] && [ -x "$p" ] && "$p" -c 'import kdcproxy' 2>/dev/null && { printf '%s\n' "$p"; return 0; }
	done
	echo "kdcproxy.sh: no python3 with the kdcproxy module (install python3-kdcproxy)" >&2
	return 1
}

# kdcproxy_available — python3-kdcproxy and openssl are installed.
kdcproxy_available() {
	command -v openssl >/dev/null 2>&1 && _kdcproxy_python >/dev/null 2>&1
}

kdcproxy_setup() {
	if [ -z "${KDC_DIR:-}" ] || [ -z "${KDC_PORT:-}" ]; then
		echo "kdcproxy.sh: kdc_setup first" >&2
		return 1
	fi
	KDCPROXY_DIR="${1:-$KDC_DIR/kdcproxy}"
	mkdir -p "$KDCPROXY_DIR" || return 1
	KDCPROXY_PORT=$(kdc_free_port) || return 1
	KDCPROXY_URL="https://localhost:$KDCPROXY_PORT/KdcProxy"
	KDCPROXY_CA="$KDCPROXY_DIR/ca.pem"
	KDCPROXY_LOG="$KDCPROXY_DIR/kdcproxy.log"
	export KDCPROXY_DIR KDCPROXY_PORT KDCPROXY_URL KDCPROXY_CA KDCPROXY_LOG
	if [ -z "${_KDCPROXY_TRAP_SET:-}" ]; then
		local prev
		prev=$(trap -p EXIT | sed -e "s/^trap -- '//" -e "s/' EXIT\$//")
		# shellcheck disable=SC2064
		trap "kdcproxy_stop; ${prev:-:}" EXIT
		_KDCPROXY_TRAP_SET=1
	fi
	local d="$KDCPROXY_DIR"
	{
		openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=nlassp lab KDC proxy CA" \
			-addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign" \
			-keyout "$d/ca.key" -out "$d/ca.pem" &&
			openssl req -newkey rsa:2048 -nodes -subj "/CN=localhost" -keyout "$d/proxy.key" -out "$d/proxy.csr" &&
			printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n' >"$d/proxy.ext" &&
			openssl x509 -req -in "$d/proxy.csr" -CA "$d/ca.pem" -CAkey "$d/ca.key" -CAcreateserial -days 2 \
				-extfile "$d/proxy.ext" -out "$d/proxy.pem"
	} >"$d/setup.log" 2>&1 || {
		echo "kdcproxy.sh: making the lab CA and certificate failed:" >&2
		cat "$d/setup.log" >&2
		return 1
	}
	cat >"$d/kdcproxy.conf" <<EOF
[global]
use_dns = false

[$KDC_REALM]
kerberos = kerberos+tcp://127.0.0.1:$KDC_PORT
EOF
}

kdcproxy_start() {
	local py _
	[ -n "${KDCPROXY_DIR:-}" ] || { echo "kdcproxy.sh: kdcproxy_setup first" >&2; return 1; }
	py=$(_kdcproxy_python) || return 1
	KDCPROXY_CONFIG="$KDCPROXY_DIR/kdcproxy.conf" "$py" -u "$(dirname "${BASH_SOURCE[0]}")/kdcproxy_server.py" \
		--port "$KDCPROXY_PORT" --cert "$KDCPROXY_DIR/proxy.pem" --key "$KDCPROXY_DIR/proxy.key" \
		--watch-pid "${KDCPROXY_WATCH_PID:-$$}" \
		>>"$KDCPROXY_LOG" 2>&1 </dev/null &
	KDCPROXY_PID=$!
	export KDCPROXY_PID
	for _ in $(seq 1 100); do
		if ! kill -0 "$KDCPROXY_PID" 2>/dev/null; then
			echo "kdcproxy.sh: the proxy exited:" >&2
			cat "$KDCPROXY_LOG" >&2
			KDCPROXY_PID=""
			return 1
		fi
		grep -q "listening on" "$KDCPROXY_LOG" 2>/dev/null &&
			openssl s_client -connect "127.0.0.1:$KDCPROXY_PORT" -CAfile "$KDCPROXY_CA" </dev/null >/dev/null 2>&1 &&
			return 0
		sleep 0.1
	done
	echo "kdcproxy.sh: the proxy did not answer on 127.0.0.1:$KDCPROXY_PORT" >&2
	kdcproxy_stop
	return 1
}

kdcproxy_stop() {
	local _ pid=${KDCPROXY_PID:-}
	KDCPROXY_PID=""
	[ -n "$pid" ] || return 0
	kill "$pid" 2>/dev/null || true
	for _ in $(seq 1 50); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.05
	done
	kill -9 "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
	return 0
}

# kdcproxy_client_conf OUT [anchors|no-anchors] [kdc]
kdcproxy_client_conf() {
	local out="$1" anchors="${2:-anchors}" kdc="${3:-}" extra=""
	[ "$anchors" = anchors ] && extra="${extra}\t\thttp_anchors = FILE:$KDCPROXY_CA\n"
	[ "$kdc" = kdc ] && extra="${extra}\t\tkdc = $KDCPROXY_URL\n"
	# The realm's stanza without its KDC.
	awk -v realm="$KDC_REALM" -v extra="$extra" '
		$1 == realm && $2 == "=" && $3 == "{" { print; printf "%s", extra; inrealm = 1; next }
		inrealm && $1 == "kdc" { next }
		inrealm && $1 == "}" { inrealm = 0 }
		{ print }' "$KRB5_CONFIG" >"$out"
}

# kdcproxy_count AS-REQ|TGS-REQ — requests of that kind the proxy relayed (answered 200).
kdcproxy_count() {
	local n
	n=$(grep -F "kdcproxy: $1 " "$KDCPROXY_LOG" 2>/dev/null | grep -c -- '-> 200') || true
	printf '%s\n' "${n:-0}"
}
