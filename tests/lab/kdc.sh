# shellcheck shell=bash
# A throwaway MIT Kerberos realm (LAB.TEST) on 127.0.0.1, for tests. Source this file, then:
#
#   kdc_setup            # temp dir, krb5.conf, kdc.conf, database, principals, keytab
#   kdc_start            # krb5kdc -n in the background, waits until it answers
#   ...                  # KRB5_CONFIG / KRB5_KDC_PROFILE are exported; use $KDC_* below
#   kdc_count_tgs TERMSRV/localhost     # TGS_REQ lines for that service in the KDC log
#   kdc_rc4_enable       # RC4-HMAC allowed (krb5.conf, kdc.conf); restart a running KDC after it
#   kdc_rc4_service SPN KEYTAB          # SPN gets an RC4 key only and RC4 session keys
#   kdc_rc4_client CONF USER            # CONF: a krb5.conf permitting RC4 only; USER gets an RC4 key
#   kdc_stop             # stops the KDC (the realm stays configured: "KDC unreachable")
#   kdc_teardown         # stops the KDC and removes the temp dir (kept with LAB_KEEP=1)
#
# kdc_setup installs an EXIT trap that calls kdc_teardown (chained with any existing trap).
# Exported after kdc_setup:
#   KDC_DIR KDC_PORT KDC_REALM KRB5_CONFIG KRB5_KDC_PROFILE
#   KDC_KEYTAB (TERMSRV/localhost)  KDC_USER=alice  KDC_PASSWORD='Passw0rd!'  KDC_LOG
# Only 127.0.0.1 is used; the port is one the kernel reported free.

KDC_REALM=LAB.TEST
KDC_USER=alice
KDC_PASSWORD='Passw0rd!'

_kdc_sbin() {
	local name=$1 p
	for p in "$(command -v "$name" 2>/dev/null)" "/usr/sbin/$name" "/usr/local/sbin/$name"; do
		if [ -n "$p" ] && [ -x "$p" ]; then
			printf '%s\n' "$p"
			return 0
		fi
	done
	echo "kdc.sh: $name not found (install krb5-kdc krb5-admin-server)" >&2
	return 1
}

# Prints a TCP port on 127.0.0.1 that is free for both TCP and UDP right now.
kdc_free_port() {
	local port i
	for i in $(seq 1 50); do
		port=$(( (RANDOM % 20000) + 30000 ))
		if command -v ss >/dev/null 2>&1; then
			if ss -Htuan 2>/dev/null | awk '{print $5}' | grep -q ":$port\$"; then
				continue
			fi
		fi
		if command -v python3 >/dev/null 2>&1; then
			python3 - "$port" <<'PY' 2>/dev/null || continue
import socket, sys
p = int(sys.argv[1])
for kind in (socket.SOCK_STREAM, socket.SOCK_DGRAM):
    s = socket.socket(socket.AF_INET, kind)
    s.bind(("127.0.0.1", p))
    s.close()
PY
		fi
		printf '%s\n' "$port"
		return 0
	done
	echo "kdc.sh: no free port found" >&2
	return 1
}

_kdc_on_exit() {
	kdc_teardown
}

# Creates the realm. Optional $1: an existing directory to use instead of a new temp dir.
kdc_setup() {
	local kdb5_util kadmin
	kdb5_util=$(_kdc_sbin kdb5_util) || return 1
	kadmin=$(_kdc_sbin kadmin.local) || return 1

	if [ -n "${1:-}" ]; then
		KDC_DIR=$1
		mkdir -p "$KDC_DIR" || return 1
	else
		KDC_DIR=$(mktemp -d "${TMPDIR:-/tmp}/nlassp-kdc.XXXXXX") || return 1
	fi
	KDC_PORT=$(kdc_free_port) || return 1
	KDC_LOG=$KDC_DIR/kdc.log
	KDC_KEYTAB=$KDC_DIR/termsrv.keytab
	KRB5_CONFIG=$KDC_DIR/krb5.conf
	KRB5_KDC_PROFILE=$KDC_DIR/kdc.conf
	export KDC_DIR KDC_PORT KDC_REALM KDC_LOG KDC_KEYTAB KDC_USER KDC_PASSWORD KRB5_CONFIG KRB5_KDC_PROFILE

	if [ -z "${_KDC_TRAP_SET:-}" ]; then
		local prev
		prev=$(trap -p EXIT | sed -e "s/^trap -- '//" -e "s/' EXIT\$//")
		# shellcheck disable=SC2064
		trap "_kdc_on_exit; ${prev:-:}" EXIT
		_KDC_TRAP_SET=1
	fi

	cat >"$KRB5_CONFIG" <<EOF
[libdefaults]
	default_realm = $KDC_REALM
	dns_lookup_kdc = false
	dns_lookup_realm = false
	dns_canonicalize_hostname = false
	rdns = false
	udp_preference_limit = 1
	forwardable = true
	default_ccache_name = FILE:$KDC_DIR/ccache.default

[realms]
	$KDC_REALM = {
		kdc = 127.0.0.1:$KDC_PORT
	}

[domain_realm]
	localhost = $KDC_REALM
	.lab.test = $KDC_REALM
EOF

	cat >"$KRB5_KDC_PROFILE" <<EOF
[kdcdefaults]
	kdc_listen = 127.0.0.1:$KDC_PORT
	kdc_tcp_listen = 127.0.0.1:$KDC_PORT

[realms]
	$KDC_REALM = {
		database_name = $KDC_DIR/principal
		key_stash_file = $KDC_DIR/stash
		acl_file = $KDC_DIR/kadm5.acl
		kdc_listen = 127.0.0.1:$KDC_PORT
		kdc_tcp_listen = 127.0.0.1:$KDC_PORT
		max_life = 10h 0m 0s
		max_renewable_life = 7d 0h 0m 0s
	}

[logging]
	kdc = FILE:$KDC_LOG
	admin_server = FILE:$KDC_DIR/kadmin.log
	default = FILE:$KDC_DIR/krb5lib.log
EOF
	: >"$KDC_DIR/kadm5.acl"

	"$kdb5_util" create -r "$KDC_REALM" -s -P "master-$RANDOM$RANDOM" >"$KDC_DIR/setup.log" 2>&1 || {
		echo "kdc.sh: kdb5_util create failed:" >&2
		cat "$KDC_DIR/setup.log" >&2
		return 1
	}
	kdc_addprinc "$KDC_USER" "$KDC_PASSWORD" || return 1
	"$kadmin" -r "$KDC_REALM" -q "addprinc -randkey TERMSRV/localhost" >>"$KDC_DIR/setup.log" 2>&1 &&
		"$kadmin" -r "$KDC_REALM" -q "ktadd -k $KDC_KEYTAB TERMSRV/localhost" >>"$KDC_DIR/setup.log" 2>&1 || {
		echo "kdc.sh: creating TERMSRV/localhost failed:" >&2
		cat "$KDC_DIR/setup.log" >&2
		return 1
	}
	return 0
}

# kdc_addprinc NAME PASSWORD [extra addprinc options]
kdc_addprinc() {
	local kadmin
	kadmin=$(_kdc_sbin kadmin.local) || return 1
	"$kadmin" -r "$KDC_REALM" -q "addprinc ${3:-} -pw $2 $1" >>"$KDC_DIR/setup.log" 2>&1 || {
		echo "kdc.sh: addprinc $1 failed" >&2
		return 1
	}
}

# kdc_kadmin "query" — runs one kadmin.local query against the realm.
kdc_kadmin() {
	local kadmin
	kadmin=$(_kdc_sbin kadmin.local) || return 1
	"$kadmin" -r "$KDC_REALM" -q "$1" >>"$KDC_DIR/setup.log" 2>&1
}

# kdc_rc4_enable — lets the realm issue RC4-HMAC keys and session keys, as Active Directory does
# for a service account limited to RC4 (msDS-SupportedEncryptionTypes = 4): allow_rc4 and
# permitted_enctypes (AES and arcfour-hmac) in krb5.conf, supported_enctypes in kdc.conf.
# Idempotent. A KDC started before must be restarted to see it.
kdc_rc4_enable() {
	[ -n "${KDC_DIR:-}" ] || { echo "kdc.sh: kdc_setup first" >&2; return 1; }
	if ! grep -q 'allow_rc4' "$KRB5_CONFIG"; then
		sed -i 's/^\[libdefaults\]$/[libdefaults]\n\tallow_rc4 = true\n\tpermitted_enctypes = aes256-cts-hmac-sha1-96 aes128-cts-hmac-sha1-96 arcfour-hmac/' \
			"$KRB5_CONFIG" || return 1
	fi
	if ! grep -q 'supported_enctypes' "$KRB5_KDC_PROFILE"; then
		sed -i 's/^\(\t*\)max_life = \(.*\)$/\1max_life = \2\n\1supported_enctypes = aes256-cts-hmac-sha1-96:normal aes128-cts-hmac-sha1-96:normal arcfour-hmac:normal/' \
			"$KRB5_KDC_PROFILE" || return 1
	fi
	grep -q 'allow_rc4' "$KRB5_CONFIG" && grep -q 'supported_enctypes' "$KRB5_KDC_PROFILE"
}

# kdc_rc4_service SPN KEYTAB — SPN (created if missing) gets an arcfour-hmac key only, written to
# KEYTAB, and RC4 session keys (setstr session_enctypes): the KDC log then shows
# ses=...arcfour-hmac for its tickets. Needs kdc_rc4_enable.
kdc_rc4_service() {
	local spn=$1 keytab=$2
	kdc_kadmin "addprinc -randkey $spn" || true   # already there: fine
	kdc_kadmin "ktadd -k $keytab -e arcfour-hmac:normal $spn" &&
		kdc_kadmin "setstr $spn session_enctypes arcfour-hmac" || {
		echo "kdc.sh: making $spn RC4-only failed:" >&2
		tail -n 5 "$KDC_DIR/setup.log" >&2
		return 1
	}
}

# kdc_rc4_client CONF USER — a client that permits RC4 only, so that no AES subkey is negotiated and
# the RC4 session key protects the messages: CONF is KRB5_CONFIG with permitted_enctypes
# arcfour-hmac; USER (created with KDC_PASSWORD if missing) gets an arcfour-hmac key, and the TGT
# may have an RC4 session key (krbtgt session_enctypes). Needs kdc_rc4_enable.
kdc_rc4_client() {
	local conf=$1 user=$2
	sed 's/permitted_enctypes = .*/permitted_enctypes = arcfour-hmac/' "$KRB5_CONFIG" >"$conf" &&
		grep -q 'permitted_enctypes = arcfour-hmac$' "$conf" || { echo "kdc.sh: no RC4-only $conf" >&2; return 1; }
	kdc_kadmin "addprinc -pw $KDC_PASSWORD $user" || true   # already there: fine
	kdc_kadmin "cpw -pw $KDC_PASSWORD -e aes256-cts-hmac-sha1-96:normal,arcfour-hmac:normal $user" &&
		kdc_kadmin "setstr krbtgt/$KDC_REALM session_enctypes aes256-cts-hmac-sha1-96,aes128-cts-hmac-sha1-96,arcfour-hmac" || {
		echo "kdc.sh: giving $user an RC4 key failed:" >&2
		tail -n 5 "$KDC_DIR/setup.log" >&2
		return 1
	}
}

# Is something answering Kerberos on the KDC port? (an AS-REQ for a bogus name gets an error reply)
_kdc_answers() {
	if command -v python3 >/dev/null 2>&1; then
		python3 - "$KDC_PORT" <<'PY' 2>/dev/null
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=0.5)
s.close()
PY
		return $?
	fi
	(exec 3<>"/dev/tcp/127.0.0.1/$KDC_PORT") 2>/dev/null
}

kdc_start() {
	local krb5kdc i
	krb5kdc=$(_kdc_sbin krb5kdc) || return 1
	[ -n "${KDC_DIR:-}" ] || { echo "kdc.sh: kdc_setup first" >&2; return 1; }
	"$krb5kdc" -n -r "$KDC_REALM" -P "$KDC_DIR/kdc.pid" >"$KDC_DIR/krb5kdc.out" 2>&1 &
	KDC_PID=$!
	export KDC_PID
	for i in $(seq 1 100); do
		if ! kill -0 "$KDC_PID" 2>/dev/null; then
			echo "kdc.sh: krb5kdc exited:" >&2
			cat "$KDC_DIR/krb5kdc.out" "$KDC_LOG" >&2 2>/dev/null
			KDC_PID=
			return 1
		fi
		if _kdc_answers; then
			return 0
		fi
		sleep 0.05
	done
	echo "kdc.sh: krb5kdc did not start listening on 127.0.0.1:$KDC_PORT" >&2
	kdc_stop
	return 1
}

# Stops the KDC we started (by its pid only). The realm stays configured, so clients now see
# "KDC unreachable" (connection refused on 127.0.0.1:$KDC_PORT).
# Idempotent and always returns 0, also under `set -e` and from EXIT traps: the KDC may have
# exited already (kill and wait then fail), or have been stopped before (no KDC_PID).
kdc_stop() {
	local i pid=${KDC_PID:-}
	KDC_PID=
	[ -n "$pid" ] || return 0
	if kill -0 "$pid" 2>/dev/null; then
		kill "$pid" 2>/dev/null || true
		for i in $(seq 1 100); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.05
		done
		if kill -0 "$pid" 2>/dev/null; then
			kill -9 "$pid" 2>/dev/null || true
		fi
	fi
	# Reaps it if it is our child; its exit status (killed: 143/137) is not ours.
	wait "$pid" 2>/dev/null || true
	return 0
}

# A realm whose KDC is configured but not running: kdc_setup without kdc_start, or this.
kdc_unreachable() {
	kdc_stop
}

# kdc_count_tgs PRINCIPAL — number of TGS_REQ log lines naming PRINCIPAL (e.g. TERMSRV/localhost).
kdc_count_tgs() {
	local n
	n=$(grep -F 'TGS_REQ' "$KDC_LOG" 2>/dev/null | grep -cF "for $1") || true
	printf '%s\n' "${n:-0}"
}

# kdc_count_as PRINCIPAL — number of AS_REQ lines for that client (alice@LAB.TEST).
kdc_count_as() {
	local n
	n=$(grep -F 'AS_REQ' "$KDC_LOG" 2>/dev/null | grep -cF "$1") || true
	printf '%s\n' "${n:-0}"
}

# kdc_count_requests — every AS_REQ/TGS_REQ line in the log.
kdc_count_requests() {
	local n
	n=$(grep -cE 'AS_REQ|TGS_REQ' "$KDC_LOG" 2>/dev/null) || true
	printf '%s\n' "${n:-0}"
}

kdc_teardown() {
	kdc_stop
	if [ -n "${KDC_DIR:-}" ] && [ -d "$KDC_DIR" ]; then
		if [ "${LAB_KEEP:-0}" = 1 ]; then
			echo "kdc.sh: keeping $KDC_DIR (LAB_KEEP=1)" >&2
		else
			rm -rf -- "$KDC_DIR" || true
		fi
	fi
	KDC_DIR=
	return 0
}
