# shellcheck shell=bash
# tests/lab/lab.sh — a loopback NLA lab for nlassp, to be sourced by bash scripts.
#
#   source tests/lab/lab.sh
#   lab_init                         # temp dir, HOME/XDG/KRB5 redirected into it, EXIT trap
#   lab_start_xvfb                   # Xvfb on a free display, -nolisten tcp
#   lab_write_sam alice 'Passw0rd!' LAB
#   lab_start_shadow                 # freerdp-shadow-cli3 on 127.0.0.1:<free port>, built-in NLA
#   lab_connect "$LAB_SHADOW_PORT" 'Passw0rd!' /sspi-module:/abs/libnlassp.so
#   echo "$LAB_CLIENT_OUTCOME"       # success | refused | error
#
# Everything listens on 127.0.0.1 only. Every process started here is stopped and the lab dir is
# removed by lab_cleanup, which lab_init installs as the EXIT/INT/TERM trap (set LAB_KEEP=1 to
# keep the dir for debugging). Every wait is bounded.
#
# Outputs (globals):
#   LAB_DIR, LAB_DISPLAY, LAB_SAM, LAB_CERT, LAB_KEY,
#   LAB_SHADOW_PORT/PID/LOG, LAB_NLA_PORT/PID/LOG,
#   LAB_CLIENT_RC, LAB_CLIENT_SIGNAL, LAB_CLIENT_LOG, LAB_CLIENT_OUTCOME, LAB_CLIENT_WHY
# Tunables (env): LAB_CLIENT_TIMEOUT (60 s), LAB_START_TIMEOUT (20 s), LAB_LIFETIME (900 s: hard
#   cap on every background process), LAB_WLOG_LEVEL (INFO), LAB_KEEP (0).

LAB_DIR=""
LAB_DISPLAY=""
LAB_SAM=""
LAB_CERT=""
LAB_KEY=""
LAB_SHADOW_PORT=""
LAB_SHADOW_PID=""
LAB_SHADOW_LOG=""
LAB_NLA_PORT=""
LAB_NLA_PID=""
LAB_NLA_LOG=""
LAB_CLIENT_RC=""
LAB_CLIENT_SIGNAL=""   # the signal that killed the last client ("" if it exited)
LAB_CLIENT_LOG=""
LAB_CLIENT_OUTCOME=""
LAB_CLIENT_WHY=""
LAB_USER="${LAB_USER:-alice}"
LAB_DOMAIN="${LAB_DOMAIN:-LAB}"
LAB_PASSWORD="${LAB_PASSWORD:-Passw0rd!}"
_LAB_PIDS=()
_LAB_NAMES=()
_LAB_PORTS=()
_LAB_CLIENT_N=0
_LAB_HKLM_FILE=/etc/winpr/HKLM.reg
_LAB_HKLM_STATE=""   # "" untouched | "absent" we created it | "backup" we replaced it
_LAB_HKLM_DIR_CREATED=0
_LAB_CLEANED=0
_LAB_LOCK_FD=""
# Every lab on this machine holds this lock shared while it runs; a lab that rewrites
# /etc/winpr/HKLM.reg (read by every FreeRDP server) takes it exclusively first, so concurrent labs
# (other build dirs, other CTest runs) never see a foreign SspiModule.
LAB_HKLM_LOCK="${LAB_HKLM_LOCK:-/tmp/nlassp-lab-hklm.lock}"
# WLog writes INFO/DEBUG to stdout, which is block-buffered into a log file and lost when a server
# is stopped with a signal: line-buffer the servers' output when stdbuf is there.
_LAB_LINEBUF=()
command -v stdbuf >/dev/null 2>&1 && _LAB_LINEBUF=(stdbuf -oL -eL)

lab_log() { printf '[lab] %s\n' "$*" >&2; }

# lab_tail FILE [LINES] — prints the tail of a log, framed, for failure reports.
lab_tail() {
	local f="$1" n="${2:-25}"
	if [ -s "$f" ]; then
		printf -- '----- last %s lines of %s -----\n' "$n" "$(basename "$f")" >&2
		tail -n "$n" "$f" >&2
		printf -- '----- end of %s -----\n' "$(basename "$f")" >&2
	else
		printf -- '----- %s is empty or missing -----\n' "$f" >&2
	fi
}

lab_require() {
	local missing=() c
	for c in "$@"; do command -v "$c" >/dev/null 2>&1 || missing+=("$c"); done
	if [ "${#missing[@]}" -gt 0 ]; then
		lab_log "missing commands: ${missing[*]} (run .ci/install-deps.sh)"
		return 1
	fi
}

# lab_init — creates the lab dir, points HOME/XDG dirs/KRB5 config into it, installs the trap.
lab_init() {
	lab_require timeout mktemp || return 1
	if command -v flock >/dev/null 2>&1; then
		# The lock file may belong to another user (a root run created it): open it for reading
		# then, which flock accepts too; create it readable by everyone.
		if [ -e "$LAB_HKLM_LOCK" ] && [ ! -w "$LAB_HKLM_LOCK" ]; then
			exec {_LAB_LOCK_FD}<"$LAB_HKLM_LOCK" || return 1
		else
			exec {_LAB_LOCK_FD}>>"$LAB_HKLM_LOCK" || return 1
			chmod 644 "$LAB_HKLM_LOCK" 2>/dev/null || true
		fi
		if ! flock -s -w "${LAB_LOCK_TIMEOUT:-300}" "$_LAB_LOCK_FD"; then
			lab_log "could not take $LAB_HKLM_LOCK (a lab that rewrites HKLM.reg is running)"
			exec {_LAB_LOCK_FD}>&-
			_LAB_LOCK_FD=""
			return 1
		fi
	fi
	LAB_DIR="$(mktemp -d "${TMPDIR:-/tmp}/nlassp-lab.XXXXXX")" || return 1
	chmod 700 "$LAB_DIR"
	mkdir -p "$LAB_DIR/home/.config" "$LAB_DIR/home/.cache" "$LAB_DIR/logs"
	# FreeRDP keeps its certificate store and server keys under HOME/XDG dirs: keep them here.
	export HOME="$LAB_DIR/home"
	export XDG_CONFIG_HOME="$LAB_DIR/home/.config"
	export XDG_CACHE_HOME="$LAB_DIR/home/.cache"
	export XDG_RUNTIME_DIR="$LAB_DIR/home"
	# Never let Kerberos consult /etc/krb5.conf or DNS: a realm without a KDC fails at once, and
	# nothing but 127.0.0.1 is ever contacted.
	cat >"$LAB_DIR/krb5.conf" <<-'KRB'
	[libdefaults]
	    dns_lookup_kdc = false
	    dns_lookup_realm = false
	    rdns = false
	KRB
	export KRB5_CONFIG="$LAB_DIR/krb5.conf"
	export KRB5CCNAME="FILE:$LAB_DIR/krb5cc"
	export KRB5_KTNAME="FILE:$LAB_DIR/default.keytab"
	unset DISPLAY
	_LAB_CLEANED=0
	# Chain with an EXIT trap set earlier (e.g. tests/lab/kdc.sh's), instead of replacing it.
	local prev=""
	if [ -n "$(trap -p EXIT)" ]; then
		eval "set -- $(trap -p EXIT)"
		prev="$3"
	fi
	if [ -z "$prev" ]; then
		trap 'lab_cleanup' EXIT
	elif [[ "$prev" != *lab_cleanup* ]]; then
		# shellcheck disable=SC2064 # expanding prev now is the point
		trap "lab_cleanup; $prev" EXIT
	fi
	trap 'lab_cleanup; exit 130' INT
	trap 'lab_cleanup; exit 143' TERM
	lab_log "lab dir $LAB_DIR"
}

# _lab_track PID NAME — remember a background process so cleanup stops it.
_lab_track() { _LAB_PIDS+=("$1"); _LAB_NAMES+=("$2"); }

# _lab_untrack PID — forget a process that was stopped, so that cleanup never signals its PID
# again (by then the kernel may have given it to an unrelated process).
_lab_untrack() {
	local i pids=() names=()
	for ((i = 0; i < ${#_LAB_PIDS[@]}; i++)); do
		[ "${_LAB_PIDS[$i]}" = "$1" ] && continue
		pids+=("${_LAB_PIDS[$i]}")
		names+=("${_LAB_NAMES[$i]}")
	done
	_LAB_PIDS=("${pids[@]}")
	_LAB_NAMES=("${names[@]}")
}

# lab_stop PID [NAME] — TERM, wait up to 5 s, then KILL; reaps the child and untracks it.
lab_stop() {
	[ -n "${1:-}" ] || return 0
	_lab_stop_pid "$@"
	_lab_untrack "$1"
}

_lab_stop_pid() {
	local pid="$1" name="${2:-process}" i
	if kill -0 "$pid" 2>/dev/null; then
		kill -TERM "$pid" 2>/dev/null
		for ((i = 0; i < 50; i++)); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		if kill -0 "$pid" 2>/dev/null; then
			lab_log "$name (pid $pid) ignored TERM, killing"
			kill -KILL "$pid" 2>/dev/null
		fi
	fi
	wait "$pid" 2>/dev/null
	return 0
}

# lab_wait_exit PID SECONDS — waits for a process to end on its own; prints its exit status.
lab_wait_exit() {
	local pid="$1" secs="$2" i rc
	for ((i = 0; i < secs * 10; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$pid" 2>/dev/null; then
		echo timeout
		return 1
	fi
	wait "$pid" 2>/dev/null
	rc=$?
	echo "$rc"
}

lab_cleanup() {
	[ "$_LAB_CLEANED" = 1 ] && return 0
	_LAB_CLEANED=1
	local i
	for ((i = ${#_LAB_PIDS[@]} - 1; i >= 0; i--)); do
		_lab_stop_pid "${_LAB_PIDS[$i]}" "${_LAB_NAMES[$i]}"
	done
	_LAB_PIDS=()
	_LAB_NAMES=()
	lab_restore_hklm
	if [ -n "$_LAB_LOCK_FD" ]; then
		exec {_LAB_LOCK_FD}>&-
		_LAB_LOCK_FD=""
	fi
	if [ -n "$LAB_DIR" ] && [ -d "$LAB_DIR" ]; then
		if [ "${LAB_KEEP:-0}" = 1 ]; then
			lab_log "keeping $LAB_DIR (LAB_KEEP=1)"
		else
			rm -rf "$LAB_DIR"
		fi
	fi
	return 0
}

# _lab_port_busy PORT — true if something listens on 127.0.0.1:PORT.
_lab_port_busy() {
	local port="$1"
	if command -v ss >/dev/null 2>&1; then
		[ -n "$(ss -Hltn "sport = :$port" 2>/dev/null)" ]
	else
		(exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null
	fi
}

# lab_free_port — prints a TCP port nobody listens on (below the ephemeral range, not yet used
# by this lab).
lab_free_port() {
	local port i used p
	for ((i = 0; i < 200; i++)); do
		port=$((20000 + (RANDOM * 32768 + RANDOM) % 12000))
		used=0
		for p in "${_LAB_PORTS[@]}"; do [ "$p" = "$port" ] && used=1; done
		[ "$used" = 1 ] && continue
		_lab_port_busy "$port" && continue
		_LAB_PORTS+=("$port")
		echo "$port"
		return 0
	done
	lab_log "no free port found"
	return 1
}

# lab_wait_port PORT SECONDS [PID] — until 127.0.0.1:PORT accepts connections; fails early if
# PID died.
lab_wait_port() {
	local port="$1" secs="$2" pid="${3:-}" i
	for ((i = 0; i < secs * 10; i++)); do
		if [ -n "$pid" ] && ! kill -0 "$pid" 2>/dev/null; then
			lab_log "process $pid exited before 127.0.0.1:$port was open"
			return 1
		fi
		_lab_port_busy "$port" && return 0
		sleep 0.1
	done
	lab_log "127.0.0.1:$port not open after ${secs}s"
	return 1
}

# _lab_display_busy N — true if display :N looks taken (lock file, socket, abstract socket).
_lab_display_busy() {
	local n="$1"
	[ -e "/tmp/.X$n-lock" ] && return 0
	[ -e "/tmp/.X11-unix/X$n" ] && return 0
	if command -v ss >/dev/null 2>&1; then
		ss -Hxl 2>/dev/null | grep -qE "/tmp/\.X11-unix/X$n( |\$)" && return 0
	fi
	return 1
}

# lab_start_xvfb — Xvfb on a free, randomly chosen display :100-:899 (-nolisten tcp), waits until
# it is ready (-displayfd); sets LAB_DISPLAY.
lab_start_xvfb() {
	lab_require Xvfb || return 1
	local dfile="$LAB_DIR/xvfb.display" log="$LAB_DIR/logs/xvfb.log" i n try pid
	for ((try = 1; try <= 5; try++)); do
		for ((i = 0; i < 100; i++)); do
			n=$((100 + RANDOM % 800))
			_lab_display_busy "$n" || break
		done
		: >"$dfile"
		timeout -k 5 "${LAB_LIFETIME:-900}" Xvfb ":$n" -displayfd 3 -nolisten tcp -noreset \
			-screen 0 1024x768x24 3>"$dfile" >"$log" 2>&1 &
		pid=$!
		for ((i = 0; i < ${LAB_START_TIMEOUT:-20} * 10; i++)); do
			grep -qE '^[0-9]+' "$dfile" 2>/dev/null && break
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		if kill -0 "$pid" 2>/dev/null && grep -qE '^[0-9]+' "$dfile" 2>/dev/null; then
			_lab_track "$pid" Xvfb
			LAB_DISPLAY=":$(grep -oE '^[0-9]+' "$dfile" | head -n1)"
			lab_log "Xvfb $LAB_DISPLAY (pid $pid)"
			return 0
		fi
		lab_log "Xvfb :$n did not start (attempt $try of 5)"
		lab_tail "$log" 5
		lab_stop "$pid" Xvfb
	done
	return 1
}

# lab_xvfb_alive — true while the lab's X server runs.
lab_xvfb_alive() {
	local i
	for ((i = 0; i < ${#_LAB_PIDS[@]}; i++)); do
		[ "${_LAB_NAMES[$i]}" = Xvfb ] && kill -0 "${_LAB_PIDS[$i]}" 2>/dev/null && return 0
	done
	return 1
}

# lab_write_sam [USER] [PASSWORD] [DOMAIN] [FILE] — WinPR SAM file via winpr-hash3; sets LAB_SAM.
lab_write_sam() {
	lab_require winpr-hash3 || return 1
	local user="${1:-$LAB_USER}" pass="${2:-$LAB_PASSWORD}" dom="${3:-$LAB_DOMAIN}"
	local file="${4:-$LAB_DIR/SAM}"
	winpr-hash3 -u "$user" -p "$pass" -d "$dom" -f sam >>"$file" || {
		lab_log "winpr-hash3 failed"
		return 1
	}
	LAB_SAM="$file"
}

# lab_make_cert — a throwaway self-signed RSA certificate for TLS; sets LAB_CERT and LAB_KEY.
lab_make_cert() {
	lab_require openssl || return 1
	LAB_CERT="$LAB_DIR/server.crt"
	LAB_KEY="$LAB_DIR/server.key"
	openssl req -x509 -newkey rsa:2048 -nodes -sha256 -days 2 -subj "/CN=localhost" \
		-keyout "$LAB_KEY" -out "$LAB_CERT" >"$LAB_DIR/logs/openssl.log" 2>&1 || {
		lab_log "openssl could not make a certificate"
		lab_tail "$LAB_DIR/logs/openssl.log"
		return 1
	}
}

_lab_warn_hklm() {
	if [ "$_LAB_HKLM_STATE" = "" ] && [ -f "$_LAB_HKLM_FILE" ] &&
		grep -qi 'SspiModule' "$_LAB_HKLM_FILE" 2>/dev/null; then
		lab_log "WARNING: $_LAB_HKLM_FILE sets an SspiModule; FreeRDP servers on this machine use it"
	fi
}

# lab_start_shadow [EXTRA ARGS...] — freerdp-shadow-cli3 with NLA and LAB_SAM on a free loopback
# port (needs lab_start_xvfb and lab_write_sam first); sets LAB_SHADOW_PORT/PID/LOG. Tries up to
# three times (a port taken meanwhile, an X server still settling).
lab_start_shadow() {
	lab_require freerdp-shadow-cli3 || return 1
	[ -n "$LAB_DISPLAY" ] || { lab_log "lab_start_shadow: start Xvfb first"; return 1; }
	[ -n "$LAB_SAM" ] || { lab_log "lab_start_shadow: write a SAM first"; return 1; }
	_lab_warn_hklm
	local attempt
	for attempt in 1 2 3; do
		LAB_SHADOW_PORT="$(lab_free_port)" || return 1
		LAB_SHADOW_LOG="$LAB_DIR/logs/shadow.log"
		[ "$attempt" = 1 ] || mv -f "$LAB_SHADOW_LOG" "$LAB_DIR/logs/shadow.attempt$((attempt - 1)).log"
		DISPLAY="$LAB_DISPLAY" WLOG_LEVEL="${LAB_WLOG_LEVEL:-INFO}" \
			timeout -k 5 "${LAB_LIFETIME:-900}" "${_LAB_LINEBUF[@]}" freerdp-shadow-cli3 \
			/bind-address:127.0.0.1 "/port:$LAB_SHADOW_PORT" "/sam-file:$LAB_SAM" \
			"/log-level:${LAB_WLOG_LEVEL:-INFO}" "$@" >"$LAB_SHADOW_LOG" 2>&1 </dev/null &
		LAB_SHADOW_PID=$!
		_lab_track "$LAB_SHADOW_PID" freerdp-shadow-cli3
		if lab_wait_port "$LAB_SHADOW_PORT" "${LAB_START_TIMEOUT:-20}" "$LAB_SHADOW_PID"; then
			lab_log "freerdp-shadow-cli3 on 127.0.0.1:$LAB_SHADOW_PORT (pid $LAB_SHADOW_PID) $*"
			return 0
		fi
		lab_log "freerdp-shadow-cli3 did not come up (attempt $attempt of 3;" \
			"Xvfb $LAB_DISPLAY $(lab_xvfb_alive && echo running || echo gone))"
		lab_tail "$LAB_SHADOW_LOG" 10
		lab_stop "$LAB_SHADOW_PID" freerdp-shadow-cli3
		sleep 0.5
	done
	lab_tail "$LAB_DIR/logs/xvfb.log" 10
	return 1
}

# lab_start_nla_server BINARY [EXTRA ARGS...] — tests/e2e/nla_server on a free loopback port
# with the lab cert/key and SAM (made if missing); sets LAB_NLA_PORT/PID/LOG.
lab_start_nla_server() {
	local bin="$1"
	shift
	[ -x "$bin" ] || { lab_log "nla_server binary not found: $bin"; return 1; }
	[ -n "$LAB_CERT" ] || lab_make_cert || return 1
	[ -n "$LAB_SAM" ] || lab_write_sam "$LAB_USER" || return 1
	_lab_warn_hklm
	LAB_NLA_PORT="$(lab_free_port)" || return 1
	LAB_NLA_LOG="$LAB_DIR/logs/nla_server.$LAB_NLA_PORT.log"
	WLOG_LEVEL="${LAB_WLOG_LEVEL:-INFO}" timeout -k 5 "${LAB_LIFETIME:-900}" "${_LAB_LINEBUF[@]}" "$bin" \
		--port "$LAB_NLA_PORT" --cert "$LAB_CERT" --key "$LAB_KEY" --sam "$LAB_SAM" "$@" \
		>"$LAB_NLA_LOG" 2>&1 </dev/null &
	LAB_NLA_PID=$!
	_lab_track "$LAB_NLA_PID" nla_server
	if ! lab_wait_port "$LAB_NLA_PORT" "${LAB_START_TIMEOUT:-20}" "$LAB_NLA_PID"; then
		lab_log "nla_server did not come up"
		lab_tail "$LAB_NLA_LOG"
		return 1
	fi
	lab_log "nla_server on 127.0.0.1:$LAB_NLA_PORT (pid $LAB_NLA_PID) $*"
}

# Runs ARGV[1..] and exits with its status, or 128+N when signal N killed it, which it also
# writes to the file ARGV[0] (bash alone cannot tell exit(139) from SIGSEGV).
# shellcheck disable=SC2016 # perl code
_LAB_SIGNAL_RUNNER='my $f = shift @ARGV; my $r = system { $ARGV[0] } @ARGV;
exit 127 if $r == -1;
if ($r & 127) { open(my $h, ">", $f) and print $h ($r & 127); exit 128 + ($r & 127); }
exit($r >> 8);'

_lab_is_refusal_rc() {
	case "$1" in
	132 | 134 | 154 | 155) return 0 ;;
	*) return 1 ;;
	esac
}

# lab_localhost_is_ipv4_loopback — true if "localhost" resolves to 127.0.0.1 and nothing else
# (Kerberos service names follow the host name given to /v:, so some tests connect to
# LAB_HOST=localhost; they may only do so when that still means 127.0.0.1).
lab_localhost_is_ipv4_loopback() {
	[ "$(getent ahosts localhost 2>/dev/null | awk '{print $1}' | sort -u | tr '\n' ' ')" = "127.0.0.1 " ]
}

# lab_host_reaches_ipv4_loopback HOST — true if HOST resolves to 127.0.0.1 (perhaps among others, as
# stock Debian's localhost also means ::1): lab_connect then makes xfreerdp3 use that address
# (/ipv4:force), since FreeRDP connects to the first address only and lab servers listen on
# 127.0.0.1. `getent ahosts`, not ahostsv4: ahostsv4 asks with AI_ADDRCONFIG, which finds no IPv4
# configured in the gateway tests' private network namespace (only lo) and resolves nothing.
lab_host_reaches_ipv4_loopback() {
	getent ahosts "$1" 2>/dev/null | awk '{print $1}' | grep -qx '127.0.0.1'
}

# lab_localhost_ipv4 "$@" — call first thing in a script (before e2e_setup/lab_init) that connects
# to LAB_HOST=localhost: where "localhost" resolves to ::1 (first or too), re-executes the script
# (root only) in a private mount namespace (unshare -m) whose /etc/hosts is a copy of the real one
# with every localhost line replaced by "127.0.0.1 localhost", so that Kerberos' TERMSRV/localhost
# is still 127.0.0.1 there. The machine's /etc/hosts is never written. Returns 0 when nothing is
# needed or inside the namespace; 1 (without re-executing) when it cannot be done: not root, no
# unshare, or unshare -m not permitted (the caller then skips its localhost logins, as before).
# LAB_FORCE_HOSTS_NS=1 re-executes even where localhost is already 127.0.0.1 only (to test this).
lab_localhost_ipv4() {
	if [ "${_LAB_IN_HOSTS_NS:-0}" = 1 ]; then
		lab_localhost_is_ipv4_loopback && return 0
		lab_log "localhost still does not resolve to 127.0.0.1 only inside the private namespace"
		return 1
	fi
	lab_localhost_is_ipv4_loopback && [ "${LAB_FORCE_HOSTS_NS:-0}" != 1 ] && return 0
	[ "$(id -u)" = 0 ] || { lab_log "localhost is not 127.0.0.1 only and a private /etc/hosts needs root"; return 1; }
	command -v unshare >/dev/null 2>&1 || { lab_log "unshare (util-linux) missing"; return 1; }
	unshare --mount --propagation private -- true 2>/dev/null || { lab_log "unshare -m is not permitted here"; return 1; }
	local hosts
	hosts=$(mktemp "${TMPDIR:-/tmp}/nlassp-hosts.XXXXXX") || return 1
	{
		printf '127.0.0.1\tlocalhost\n'
		# Every other line as it was, with the name localhost taken off the lines that had it.
		awk '/^[[:space:]]*#/ { print; next }
			{ out = $1; n = 0
			  for (i = 2; i <= NF; i++) if ($i != "localhost") { out = out " " $i; n++ }
			  if (n > 0 || NF == 1) print out }' /etc/hosts 2>/dev/null
	} >"$hosts"
	chmod 644 "$hosts"
	lab_log "localhost is not 127.0.0.1 only here: re-running in a private mount namespace with its own /etc/hosts"
	# The bind mount keeps the file; its name is removed before the script runs again.
	_LAB_IN_HOSTS_NS=1 exec unshare --mount --propagation private -- "$BASH" -c \
		'mount --bind "$1" /etc/hosts && rm -f "$1" && shift && exec "$@"' lab-hosts "$hosts" "$BASH" "$0" "$@"
}

# lab_mask_secrets ARGS... — the arguments joined by blanks, with every password replaced by ***:
# /p:, /gp:, and p: inside /gateway:... (FreeRDP's gateway credentials).
lab_mask_secrets() {
	local a out=()
	for a in "$@"; do
		case "$a" in
		/p:*) a='/p:***' ;;
		/gp:*) a='/gp:***' ;;
		/gateway:*) a="$(printf '%s' "$a" | sed -E 's/(^\/gateway:|,)p:[^,]*/\1p:***/g')" ;;
		esac
		out+=("$a")
	done
	printf '%s' "${out[*]}"
}

# lab_connect PORT PASSWORD [EXTRA XFREERDP ARGS...] — one `xfreerdp3 +auth-only` NLA login as
# LAB_DOMAIN\LAB_USER (none with LAB_NO_USER=1) to 127.0.0.1:PORT (or LAB_HOST, a name for 127.0.0.1:
# /ipv4:force is added when it also means ::1),
# bounded by LAB_CLIENT_TIMEOUT. LAB_CLIENT_FILE=PATH.rdp goes first (an .rdp connection file
# must be xfreerdp3's first argument). Sets LAB_CLIENT_RC, LAB_CLIENT_SIGNAL (when perl is there
# to tell a signal from an exit status: FreeRDP's statuses 131-155 overlap 128+signal),
# LAB_CLIENT_LOG and LAB_CLIENT_OUTCOME:
#   success  FreeRDP logged "Authentication only, exit status 1" and exited 131 (3.10) or 0
#   refused  the login was rejected: exit 132 (auth failure), 134 (logon failure), 154/155
#            (wrong password / access denied), without the success line
#   error    anything else (timeout, a signal, transport error, module not loadable ...)
# Returns 0 only for success.
lab_connect() {
	lab_require xfreerdp3 || return 1
	local port="$1" pass="$2"
	shift 2
	_LAB_CLIENT_N=$((_LAB_CLIENT_N + 1))
	LAB_CLIENT_LOG="$LAB_DIR/logs/client.$_LAB_CLIENT_N.log"
	local host="${LAB_HOST:-127.0.0.1}" ipv4=()
	if [ "$host" != 127.0.0.1 ]; then
		if ! lab_host_reaches_ipv4_loopback "$host"; then
			lab_log "refusing /v:$host: it does not resolve to 127.0.0.1"
			LAB_CLIENT_RC=""
			LAB_CLIENT_OUTCOME=error
			LAB_CLIENT_WHY="LAB_HOST=$host is not 127.0.0.1"
			return 1
		fi
		# It may also mean ::1 (stock Debian's localhost): FreeRDP must take the IPv4 address.
		[ "$(getent ahosts "$host" 2>/dev/null | awk '{print $1}' | sort -u | tr '\n' ' ')" = "127.0.0.1 " ] ||
			ipv4=(/ipv4:force)
	fi
	local who=("/u:$LAB_USER" "/d:$LAB_DOMAIN")
	# A smartcard logon takes the user and domain from the certificate: LAB_NO_USER=1 omits them.
	[ "${LAB_NO_USER:-0}" = 1 ] && who=()
	local cmd=(xfreerdp3 ${LAB_CLIENT_FILE:+"$LAB_CLIENT_FILE"} "/v:$host:$port" "${ipv4[@]}" "${who[@]}" "/p:$pass"
		/cert:ignore /sec:nla +auth-only "$@")
	{
		printf '# command: %s\n' "$(lab_mask_secrets "${cmd[@]}")"
	} >"$LAB_CLIENT_LOG"
	local signal_file="$LAB_DIR/.client_signal" runner=()
	rm -f "$signal_file"
	command -v perl >/dev/null 2>&1 && runner=(perl -e "$_LAB_SIGNAL_RUNNER" "$signal_file")
	# Line-buffered: WLog writes below WARN to stdout and the rest to stderr, both into one file;
	# a block-buffered stdout would split long lines at its buffer boundary (seen at TRACE).
	WLOG_LEVEL="${LAB_WLOG_LEVEL:-INFO}" timeout -k 5 "${LAB_CLIENT_TIMEOUT:-60}" "${runner[@]}" \
		"${_LAB_LINEBUF[@]}" "${cmd[@]}" >>"$LAB_CLIENT_LOG" 2>&1 </dev/null
	LAB_CLIENT_RC=$?
	LAB_CLIENT_SIGNAL="$(cat "$signal_file" 2>/dev/null)"
	local ok_line=0 fail_line=0
	grep -q 'Authentication only, exit status 1' "$LAB_CLIENT_LOG" && ok_line=1
	grep -q 'Authentication only, exit status 0' "$LAB_CLIENT_LOG" && fail_line=1
	if [ "$ok_line" = 1 ] && { [ "$LAB_CLIENT_RC" = 131 ] || [ "$LAB_CLIENT_RC" = 0 ]; }; then
		LAB_CLIENT_OUTCOME=success
		LAB_CLIENT_WHY="exit $LAB_CLIENT_RC with 'Authentication only, exit status 1'"
	elif [ "$ok_line" = 0 ] && [ "$fail_line" = 0 ] && [ "$LAB_CLIENT_RC" = 0 ]; then
		# A newer FreeRDP that exits 0 on success without the 3.10 log line.
		LAB_CLIENT_OUTCOME=success
		LAB_CLIENT_WHY="exit 0"
	elif [ -n "$LAB_CLIENT_SIGNAL" ]; then
		LAB_CLIENT_OUTCOME=error
		LAB_CLIENT_WHY="killed by signal $LAB_CLIENT_SIGNAL (exit $LAB_CLIENT_RC)"
	elif [ "$ok_line" = 0 ] && _lab_is_refusal_rc "$LAB_CLIENT_RC"; then
		LAB_CLIENT_OUTCOME=refused
		LAB_CLIENT_WHY="exit $LAB_CLIENT_RC (login refused)"
	else
		LAB_CLIENT_OUTCOME=error
		case "$LAB_CLIENT_RC" in
		124 | 137) LAB_CLIENT_WHY="timed out after ${LAB_CLIENT_TIMEOUT:-60}s (exit $LAB_CLIENT_RC)" ;;
		*) LAB_CLIENT_WHY="exit $LAB_CLIENT_RC, success line: $ok_line" ;;
		esac
	fi
	lab_log "xfreerdp3 -> $host:$port $(lab_mask_secrets "$@"): $LAB_CLIENT_OUTCOME ($LAB_CLIENT_WHY)"
	[ "$LAB_CLIENT_OUTCOME" = success ]
}

# lab_install_hklm_module MODULE — root only: writes /etc/winpr/HKLM.reg so that every FreeRDP
# server started afterwards loads MODULE (WinPR 3.10 needs the str: form). The previous file is
# backed up and restored by lab_restore_hklm / lab_cleanup.
lab_install_hklm_module() {
	local module="$1"
	[ "$(id -u)" = 0 ] || { lab_log "HKLM.reg needs root"; return 1; }
	[ -z "$_LAB_HKLM_STATE" ] || { lab_log "HKLM.reg already installed by this lab"; return 1; }
	if [ -n "$_LAB_LOCK_FD" ] && ! flock -x -w "${LAB_LOCK_TIMEOUT:-300}" "$_LAB_LOCK_FD"; then
		lab_log "other labs kept running; not touching $_LAB_HKLM_FILE"
		return 1
	fi
	local dir
	dir="$(dirname "$_LAB_HKLM_FILE")"
	if [ ! -d "$dir" ]; then
		mkdir -p "$dir" || return 1
		_LAB_HKLM_DIR_CREATED=1
	fi
	if [ -e "$_LAB_HKLM_FILE" ]; then
		cp -p "$_LAB_HKLM_FILE" "$LAB_DIR/HKLM.reg.backup" || return 1
		_LAB_HKLM_STATE=backup
	else
		_LAB_HKLM_STATE=absent
	fi
	printf 'REGEDIT4\n\n[HKEY_LOCAL_MACHINE\\Software\\FreeRDP\\FreeRDP\\Server]\n"SspiModule"=str:"%s"\n' \
		"$module" >"$_LAB_HKLM_FILE" || { lab_restore_hklm; return 1; }
	lab_log "wrote $_LAB_HKLM_FILE (SspiModule=$module; previous state: $_LAB_HKLM_STATE)"
}

lab_restore_hklm() {
	case "$_LAB_HKLM_STATE" in
	backup)
		cp -p "$LAB_DIR/HKLM.reg.backup" "$_LAB_HKLM_FILE" && lab_log "restored $_LAB_HKLM_FILE"
		;;
	absent)
		rm -f "$_LAB_HKLM_FILE"
		[ "$_LAB_HKLM_DIR_CREATED" = 1 ] && rmdir "$(dirname "$_LAB_HKLM_FILE")" 2>/dev/null
		lab_log "removed $_LAB_HKLM_FILE"
		;;
	esac
	_LAB_HKLM_STATE=""
	_LAB_HKLM_DIR_CREATED=0
}
