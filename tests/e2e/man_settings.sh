# shellcheck shell=bash
# The labs of tests/e2e/man_examples.sh (sourced by it after e2e_lib.sh; not a test itself).
# For each lab NAME:
#   man_start_NAME     starts it; sets PORT (the server the examples' server.example names) and
#                      adds the lab's placeholders to SED; may set MAN_STDIN, MAN_VERDICT,
#                      MAN_PASSWORD (see man_examples.sh)
# and, for every lab, hooks that run_block calls around each example:
#   man_count_as       AS requests for alice the KDC has logged (0 where there is no KDC)
#   man_before_block   notes what the lab's logs hold before the example
#   man_check_block WHAT OUTPUT   the lab saw the example do what the page says; 0 when it did
# and man_config_block WHAT TEXT for the krb5.conf block (kdc_proxy).

MAN_CHECK=none

man_count_as() {
	if [ -n "${KDC_LOG:-}" ]; then kdc_count_as "$KDC_USER@$KDC_REALM"; else echo 0; fi
}

man_start_lab_server() { # the shadow server with the realm's keytab (the shadow/smartcard labs)
	lab_start_xvfb && lab_write_sam && lab_start_shadow "/keytab:$KDC_KEYTAB" ||
		{ e2e_say "FAIL: freerdp-shadow-cli3 did not start"; lab_tail "${LAB_SHADOW_LOG:-/dev/null}" 20; exit 1; }
	PORT="$LAB_SHADOW_PORT"
}

man_start_shadow() {
	e2e_start_kdc
	man_start_lab_server
}

man_start_smartcard() {
	e2e_start_pkinit_kdc
	man_start_lab_server
	SED+=(-e "s|/usr/lib/x86_64-linux-gnu/opensc-pkcs11.so|$PKINIT_P11_MODULE|g"
		-e "s|FILE:/etc/pki/example-ca.pem|$PKINIT_ANCHORS|g" -e "s|/p:PIN|/p:$PKINIT_PIN|g")
	MAN_STDIN=0 # the PIN is on the command line; the user and domain come from the certificate
	MAN_CHECK=smartcard
}

man_start_remote_guard() {
	# shellcheck source=rcg_lib.sh
	source "$E2E_DIR/rcg_lib.sh"
	[ -x "$E2E_CREDSSP_SERVER" ] || { e2e_say "FAIL: --credssp-server is needed for +remoteGuard"; exit 1; }
	rcg_realm
	LAB_DOMAIN="$KDC_REALM"
	rcg_start_credssp_server
	PORT="$RCG_CSS_PORT"
	MAN_VERDICT=server # no RDP session behind the acceptor: its proof line is the verdict
	MAN_CHECK=remote_guard
}

man_start_gateway() {
	# shellcheck source=../lab/rdg.sh
	source "$E2E_DIR/../lab/rdg.sh"
	rdg_available || e2e_skip "the test RD Gateway needs python3-gssapi and gss-ntlmssp"
	# FreeRDP 3.10 ignores the port of /gateway:g:, and the example names none: the gateway is on
	# 443, which only root can listen on.
	[ "$(id -u)" = 0 ] || e2e_skip "the gateway example needs port 443 on 127.0.0.1 (root)"
	LAB_DOMAIN=EXAMPLE
	MAN_PASSWORD="$LAB_PASSWORD"
	local gw_password='GwPassw0rd!'
	lab_start_xvfb && lab_write_sam && lab_start_shadow ||
		{ e2e_say "FAIL: freerdp-shadow-cli3 did not start"; exit 1; }
	PORT="$LAB_SHADOW_PORT"
	rdg_add_ntlm_user gwuser "$gw_password" EXAMPLE || { e2e_say "FAIL: the gateway's user"; exit 1; }
	RDG_WANT_PORT=443 rdg_start || { e2e_say "FAIL: the RD Gateway did not start on 127.0.0.1:443"; exit 1; }
	SED+=(-e "s/gw\.example\.com/localhost/g" -e "s|/p:\.\.\.|/p:$LAB_PASSWORD|g"
		-e "s|,p:\.\.\.|,p:$gw_password|g")
	MAN_CHECK=gateway
}

man_start_kdc_proxy() {
	# shellcheck source=../lab/kdcproxy.sh
	source "$E2E_DIR/../lab/kdcproxy.sh"
	kdcproxy_available || e2e_skip "python3-kdcproxy or openssl is not installed"
	e2e_start_kdc
	man_start_lab_server
	kdcproxy_setup && kdcproxy_start || { e2e_say "FAIL: the KDC proxy did not start"; exit 1; }
	SED+=(-e "s|https://proxy\.example\.com/KdcProxy|$KDCPROXY_URL|g"
		-e "s|/etc/ssl/example-ca.pem|$KDCPROXY_CA|g")
}

# --- Around each example --------------------------------------------------------------------------
MAN_MARK=()
man_before_block() {
	case "$MAN_CHECK" in
	smartcard) MAN_MARK=("$(pkinit_count_pkinit "$KDC_USER@$KDC_REALM")" "$(pkinit_count_encts "$KDC_USER@$KDC_REALM")") ;;
	remote_guard) MAN_MARK=("$(rcg_css_count)") ;;
	gateway) MAN_MARK=("$(wc -l <"$RDG_LOG")") ;;
	esac
}

man_check_block() {
	local what="$1" lines
	case "$MAN_CHECK" in
	smartcard)
		local pkinit encts
		pkinit=$(($(pkinit_count_pkinit "$KDC_USER@$KDC_REALM") - MAN_MARK[0]))
		encts=$(($(pkinit_count_encts "$KDC_USER@$KDC_REALM") - MAN_MARK[1]))
		[ "$pkinit" -ge 1 ] && [ "$encts" = 0 ] ||
			{ e2e_fail "$what: the KDC saw $pkinit PKINIT request(s) and $encts encrypted timestamp(s) (want PKINIT, no PIN as a password)" "$KDC_LOG"; return 1; } ;;
	remote_guard)
		lines="$(rcg_css_lines_since "${MAN_MARK[0]}")"
		grep -q "^OK .*remote-guard=$KDC_USER@$KDC_REALM .*tgt=forwarded .*text-in-credentials=no" <<<"$lines" ||
			{ e2e_fail "$what: the acceptor proved no Remote Credential Guard logon of $KDC_USER: ${lines:-nothing}" "$LAB_DIR/logs/credssp_server.log"; return 1; }
		e2e_say "the acceptor: $(head -n1 <<<"$lines")" ;;
	gateway)
		lines="$(tail -n +"$((MAN_MARK[0] + 1))" "$RDG_LOG")"
		grep -q "authenticated .*gwuser" <<<"$lines" && grep -q "channel open to .*:$PORT" <<<"$lines" ||
			{ e2e_fail "$what: the gateway did not authenticate gwuser and open the channel to the server" "$RDG_LOG"; return 1; } ;;
	esac
	return 0
}

# man_config_block WHAT TEXT — TEXT is a krb5.conf [realms] block for LAB.TEST: it replaces the
# realm's stanza in a copy of the lab's krb5.conf, and alice logs in with it (the module, Kerberos
# only, password) through the KDC proxy it names.
man_config_block() {
	local what="$1" conf="$LAB_DIR/man-realms.krb5.conf" as tgs
	awk -v realm="$KDC_REALM" '
		$1 == realm && $2 == "=" && $3 == "{" { skip = 1; next }
		skip && $1 == "}" { skip = 0; next }
		!skip { print }' "$KRB5_CONFIG" >"$conf" && printf '%s\n' "$2" >>"$conf" ||
		{ e2e_fail "$what: could not write $conf"; return; }
	as="$(kdcproxy_count AS-REQ)" tgs="$(kdcproxy_count TGS-REQ)"
	KRB5_CONFIG="$conf" LAB_HOST=localhost LAB_DOMAIN="$KDC_REALM" \
		lab_connect "$PORT" "$KDC_PASSWORD" '/auth-pkg-list:!ntlm' "/sspi-module:$MODULE"
	if [ "$LAB_CLIENT_OUTCOME" != success ]; then
		e2e_fail "$what: alice did not log in with it: $LAB_CLIENT_OUTCOME ($LAB_CLIENT_WHY)" "$LAB_CLIENT_LOG" "$conf"
	elif [ "$(kdcproxy_count AS-REQ)" -le "$as" ] || [ "$(kdcproxy_count TGS-REQ)" -le "$tgs" ]; then
		e2e_fail "$what: the login did not go through the KDC proxy (its log lacks the AS or the TGS request)" "$KDCPROXY_LOG" "$conf"
	else
		e2e_ok "$what: as the realm's stanza, alice logs in through the KDC proxy (it relayed the AS and the TGS request)"
	fi
}
