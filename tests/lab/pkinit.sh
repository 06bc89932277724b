# shellcheck shell=bash
# PKINIT (smartcard logon) for the throwaway realm of tests/lab/kdc.sh. Source kdc.sh and this
# file, then:
#
#   kdc_setup
#   pkinit_setup          # CA, KDC/user certificates, kdc.conf PKINIT settings, alice: random key
#   pkinit_softhsm_setup  # SoftHSM2 tokens in a private SOFTHSM2_CONF (optional)
#   kdc_start
#   ...                   # xfreerdp3 /smartcard-logon:cert:$PKINIT_USER_CERT,key:$PKINIT_USER_KEY ...
#   pkinit_count_pkinit alice@LAB.TEST    # PKINIT AS-REQs the KDC verified for alice
#
# Everything lives in $KDC_DIR/pkinit and goes with kdc_teardown (kdc.sh's EXIT trap); the
# private keys are throwaway keys made here. Made by pkinit_setup (exported):
#   PKINIT_DIR            the directory
#   PKINIT_CA             the users' CA (PEM): the KDC trusts it for client certificates
#   PKINIT_KDC_CA         the CA of the KDC's certificate
#   PKINIT_KDC_CERT/KEY   KDC certificate (from PKINIT_KDC_CA): EKU id-pkinit-KPKdc, SAN
#                         id-pkinit-san krbtgt/REALM@REALM
#   PKINIT_ANCHORS        what clients pass as /kerberos:pkinit-anchors: FILE: with both CAs
#   PKINIT_ANCHORS_NO_KDC FILE: with the users' CA only: the KDC's certificate is not trusted
#   PKINIT_ANCHORS_ROGUE  FILE: with all three CAs (so that MIT sends the rogue certificate)
#   PKINIT_USER_CERT/KEY  alice's certificate (EKUs id-pkinit-KPClientAuth, clientAuth, Microsoft
#                         smartcard logon; SANs id-pkinit-san alice@REALM and UPN alice@REALM) and
#                         its unencrypted key (PEM)
#   PKINIT_USER_KEY_ENC   the same key encrypted (PKCS#8, AES-256) with PKINIT_PIN
#   PKINIT_USER_P8/DER    the key as PKCS#8 (PEM), the certificate as DER (for tokens)
#   PKINIT_ROGUE_CA       a second CA nobody trusts; PKINIT_ROGUE_CERT/KEY: alice's certificate
#                         from it (the KDC refuses it: "the KDC does not trust the card's CA")
#   PKINIT_PIN            the user PIN of the tokens and of PKINIT_USER_KEY_ENC
#   PKINIT_OTHER_USER     bob: +requires_preauth, a random key, named by no certificate
# Made by pkinit_softhsm_setup (exported):
#   SOFTHSM2_CONF         private SoftHSM2 configuration (token dir inside PKINIT_DIR)
#   PKINIT_P11_MODULE     the SoftHSM2 PKCS#11 module
#   PKINIT_TOKEN_LABEL    token holding alice's key (id 01) and certificate (id 01)
#   PKINIT_SLOT           its PKCS#11 slot id (SoftHSM2's are 32-bit numbers)
#   PKINIT_EMPTY_LABEL / PKINIT_EMPTY_SLOT   a second token with no objects at all
#   PKINIT_LOCKED_LABEL / PKINIT_LOCKED_SLOT a third token whose user PIN is locked: SoftHSM2
#                         never locks a PIN by itself (it only raises "count low"), so the lab
#                         sets CKF_USER_PIN_LOCKED in the token's stored flags and the real
#                         module reports a locked PIN. It holds the CA certificate (no
#                         smartcard-logon EKU, so FreeRDP's certificate search passes it by).

PKINIT_PIN="${PKINIT_PIN:-58203917}"
PKINIT_OTHER_USER="${PKINIT_OTHER_USER:-bob}"
PKINIT_SO_PIN="${PKINIT_SO_PIN:-71640285}"

_pkinit_log() { printf '[pkinit] %s\n' "$*" >&2; }

# _pkinit_openssl_conf — the extensions of every certificate made here (realm and user from
# the environment of the openssl call).
_pkinit_openssl_conf() {
	cat <<'EOF'
[req]
distinguished_name = dn
prompt = no
[dn]
CN = unused

[ca_ext]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash

[kdc_ext]
basicConstraints = CA:FALSE
keyUsage = digitalSignature, keyEncipherment, keyAgreement
extendedKeyUsage = 1.3.6.1.5.2.3.5
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid, issuer
subjectAltName = otherName:1.3.6.1.5.2.2;SEQUENCE:kdc_princ

[kdc_princ]
realm = EXP:0, GeneralString:${ENV::PKINIT_REALM}
principal_name = EXP:1, SEQUENCE:kdc_name

[kdc_name]
name_type = EXP:0, INTEGER:2
name_string = EXP:1, SEQUENCE:kdc_components

[kdc_components]
c1 = GeneralString:krbtgt
c2 = GeneralString:${ENV::PKINIT_REALM}

[user_ext]
basicConstraints = CA:FALSE
keyUsage = digitalSignature, keyEncipherment, keyAgreement
extendedKeyUsage = 1.3.6.1.5.2.3.4, clientAuth, 1.3.6.1.4.1.311.20.2.2
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid, issuer
subjectAltName = otherName:1.3.6.1.5.2.2;SEQUENCE:user_princ, otherName:1.3.6.1.4.1.311.20.2.3;UTF8:${ENV::PKINIT_UPN}

[user_princ]
realm = EXP:0, GeneralString:${ENV::PKINIT_REALM}
principal_name = EXP:1, SEQUENCE:user_name

[user_name]
name_type = EXP:0, INTEGER:1
name_string = EXP:1, SEQUENCE:user_components

[user_components]
c1 = GeneralString:${ENV::PKINIT_USER}
EOF
}

# _pkinit_ca NAME — a self-signed CA (an EC key: quick to make on a loaded machine):
# $PKINIT_DIR/NAME.pem, NAME.key.
_pkinit_ca() {
	local name=$1
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -sha256 -days 2 -config "$PKINIT_DIR/openssl.cnf" \
		-extensions ca_ext -subj "/O=nlassp lab/CN=$name" \
		-keyout "$PKINIT_DIR/$name.key" -out "$PKINIT_DIR/$name.pem" >>"$PKINIT_DIR/openssl.log" 2>&1
}

# _pkinit_issue CA EXT NAME SUBJECT — a certificate from CA with the extensions EXT: NAME.pem, NAME.key.
_pkinit_issue() {
	local ca=$1 ext=$2 name=$3 subject=$4
	openssl req -new -newkey rsa:2048 -nodes -config "$PKINIT_DIR/openssl.cnf" -subj "$subject" \
		-keyout "$PKINIT_DIR/$name.key" -out "$PKINIT_DIR/$name.csr" >>"$PKINIT_DIR/openssl.log" 2>&1 &&
		openssl x509 -req -in "$PKINIT_DIR/$name.csr" -CA "$PKINIT_DIR/$ca.pem" -CAkey "$PKINIT_DIR/$ca.key" \
			-CAcreateserial -days 2 -sha256 -extfile "$PKINIT_DIR/openssl.cnf" -extensions "$ext" \
			-out "$PKINIT_DIR/$name.pem" >>"$PKINIT_DIR/openssl.log" 2>&1
}

# pkinit_setup [USER] — after kdc_setup, before kdc_start: certificates, the KDC's PKINIT settings,
# and USER (default KDC_USER) switched to PKINIT only (+requires_preauth, a random key: no
# password can log in any more).
pkinit_setup() {
	local user="${1:-$KDC_USER}"
	[ -n "${KDC_DIR:-}" ] && [ -d "$KDC_DIR" ] || { _pkinit_log "kdc_setup first"; return 1; }
	command -v openssl >/dev/null 2>&1 || { _pkinit_log "openssl not installed"; return 1; }
	local plugin found=""
	for plugin in /usr/lib/*/krb5/plugins/preauth/pkinit.so /usr/lib*/krb5/plugins/preauth/pkinit.so; do
		[ -e "$plugin" ] && found=$plugin
	done
	[ -n "$found" ] || { _pkinit_log "MIT's PKINIT plugin is not installed (krb5-pkinit)"; return 1; }
	PKINIT_DIR="$KDC_DIR/pkinit"
	mkdir -p "$PKINIT_DIR" && chmod 700 "$PKINIT_DIR" || return 1
	export PKINIT_REALM="$KDC_REALM" PKINIT_USER="$user" PKINIT_UPN="$user@$KDC_REALM"
	_pkinit_openssl_conf >"$PKINIT_DIR/openssl.cnf"
	: >"$PKINIT_DIR/openssl.log"
	if ! _pkinit_ca ca || ! _pkinit_ca kdc-ca || ! _pkinit_ca rogue-ca ||
		! _pkinit_issue kdc-ca kdc_ext kdc "/O=nlassp lab/CN=kdc.$KDC_REALM" ||
		! _pkinit_issue ca user_ext user "/O=nlassp lab/CN=$user" ||
		! _pkinit_issue rogue-ca user_ext rogue "/O=nlassp lab/CN=$user"; then
		_pkinit_log "openssl could not make the certificates:"
		tail -n 20 "$PKINIT_DIR/openssl.log" >&2
		return 1
	fi
	openssl pkcs8 -topk8 -nocrypt -in "$PKINIT_DIR/user.key" -out "$PKINIT_DIR/user.p8" \
		>>"$PKINIT_DIR/openssl.log" 2>&1 &&
		openssl x509 -in "$PKINIT_DIR/user.pem" -outform DER -out "$PKINIT_DIR/user.der" \
			>>"$PKINIT_DIR/openssl.log" 2>&1 &&
		openssl pkcs8 -topk8 -v2 aes-256-cbc -in "$PKINIT_DIR/user.key" -passout "pass:$PKINIT_PIN" \
			-out "$PKINIT_DIR/user-enc.key" >>"$PKINIT_DIR/openssl.log" 2>&1 || {
		_pkinit_log "openssl could not convert the user key"
		return 1
	}
	PKINIT_CA="$PKINIT_DIR/ca.pem"
	PKINIT_KDC_CA="$PKINIT_DIR/kdc-ca.pem"
	PKINIT_ROGUE_CA="$PKINIT_DIR/rogue-ca.pem"
	# What a client trusts: the CA of its own certificate (MIT builds the chain it sends from the
	# anchors) and the CA of the KDC's certificate.
	cat "$PKINIT_CA" "$PKINIT_KDC_CA" >"$PKINIT_DIR/anchors.pem"
	cat "$PKINIT_CA" "$PKINIT_KDC_CA" "$PKINIT_ROGUE_CA" >"$PKINIT_DIR/anchors-rogue.pem"
	PKINIT_ANCHORS="FILE:$PKINIT_DIR/anchors.pem"
	PKINIT_ANCHORS_NO_KDC="FILE:$PKINIT_CA"
	PKINIT_ANCHORS_ROGUE="FILE:$PKINIT_DIR/anchors-rogue.pem"
	PKINIT_KDC_CERT="$PKINIT_DIR/kdc.pem"
	PKINIT_KDC_KEY="$PKINIT_DIR/kdc.key"
	PKINIT_USER_CERT="$PKINIT_DIR/user.pem"
	PKINIT_USER_KEY="$PKINIT_DIR/user.key"
	PKINIT_USER_KEY_ENC="$PKINIT_DIR/user-enc.key"
	PKINIT_USER_P8="$PKINIT_DIR/user.p8"
	PKINIT_USER_DER="$PKINIT_DIR/user.der"
	PKINIT_ROGUE_CERT="$PKINIT_DIR/rogue.pem"
	PKINIT_ROGUE_KEY="$PKINIT_DIR/rogue.key"
	export PKINIT_DIR PKINIT_CA PKINIT_KDC_CA PKINIT_ANCHORS PKINIT_ANCHORS_NO_KDC PKINIT_ANCHORS_ROGUE PKINIT_ROGUE_CA PKINIT_KDC_CERT PKINIT_KDC_KEY \
		PKINIT_USER_CERT PKINIT_USER_KEY PKINIT_USER_KEY_ENC PKINIT_USER_P8 PKINIT_USER_DER \
		PKINIT_ROGUE_CERT PKINIT_ROGUE_KEY PKINIT_PIN PKINIT_OTHER_USER
	chmod 600 "$PKINIT_DIR"/*.key

	# The KDC's side (kdc.conf realm stanza): its certificate, the CA it trusts for clients, and
	# its own certificate's CA (MIT builds the chain it sends from its anchors too).
	local stanza="		pkinit_identity = FILE:$PKINIT_KDC_CERT,$PKINIT_KDC_KEY
		pkinit_anchors = FILE:$PKINIT_CA
		pkinit_anchors = FILE:$PKINIT_KDC_CA
		pkinit_allow_upn = true"
	awk -v add="$stanza" '{ print } /^[ \t]*'"$KDC_REALM"' = \{/ && !done { print add; done = 1 }' \
		"$KRB5_KDC_PROFILE" >"$KRB5_KDC_PROFILE.new" && mv "$KRB5_KDC_PROFILE.new" "$KRB5_KDC_PROFILE" || return 1

	# Nothing but PKINIT can log in as the user from now on. PKINIT_OTHER_USER (bob) needs
	# pre-authentication too, and no certificate made here names it.
	local kadmin
	kadmin=$(_kdc_sbin kadmin.local) || return 1
	printf '%s\n' "modprinc +requires_preauth $user" "cpw -randkey $user" \
		"addprinc +requires_preauth -randkey $PKINIT_OTHER_USER" |
		"$kadmin" -r "$KDC_REALM" >"$PKINIT_DIR/kadmin.log" 2>&1 &&
		! grep -qiE 'error|cannot|not found|while ' "$PKINIT_DIR/kadmin.log" || {
		_pkinit_log "could not switch $user to PKINIT only:"
		tail -n 5 "$PKINIT_DIR/kadmin.log" >&2
		return 1
	}
	return 0
}

# _pkinit_slot LABEL — the slot id of the SoftHSM2 token labelled LABEL.
_pkinit_slot() {
	softhsm2-util --show-slots 2>/dev/null | awk -v want="$1" '
		/^Slot [0-9]+/ { slot = $2 }
		/^[ \t]*Label:/ { sub(/^[ \t]*Label:[ \t]*/, ""); sub(/[ \t]+$/, ""); if ($0 == want) { print slot; exit } }'
}

# _pkinit_lock_user_pin LABEL — sets CKF_USER_PIN_LOCKED in the stored flags of the SoftHSM2
# token LABEL (file object store: token.object holds CKA_OS_TOKENFLAGS, type 0x8000534b, as
# big-endian type / kind / value).
_pkinit_lock_user_pin() {
	python3 - "$PKINIT_DIR/tokens" "$1" <<'PY'
import glob, struct, sys
tag = struct.pack('>Q', 0x80000000 + 0x5348 + 3)   # CKA_OS_TOKENFLAGS
for path in glob.glob(sys.argv[1] + '/*/token.object'):
    data = bytearray(open(path, 'rb').read())
    if sys.argv[2].encode() not in data:
        continue
    at = data.find(tag)
    if at < 0 or len(data) < at + 24 or struct.unpack('>Q', data[at + 8:at + 16])[0] != 2:
        sys.exit('no token flags in ' + path)
    flags = struct.unpack('>Q', data[at + 16:at + 24])[0]
    data[at + 16:at + 24] = struct.pack('>Q', flags | 0x40000)   # CKF_USER_PIN_LOCKED
    open(path, 'wb').write(data)
    sys.exit(0)
sys.exit('no token labelled ' + sys.argv[2])
PY
}

# pkinit_softhsm_setup — a private SoftHSM2 configuration with two tokens: PKINIT_TOKEN_LABEL with
# alice's key and certificate (id 01, label alice), PKINIT_EMPTY_LABEL with nothing on it.
pkinit_softhsm_setup() {
	[ -n "${PKINIT_DIR:-}" ] || { _pkinit_log "pkinit_setup first"; return 1; }
	local c
	for c in softhsm2-util pkcs11-tool; do
		command -v "$c" >/dev/null 2>&1 || { _pkinit_log "$c not installed (softhsm2, opensc)"; return 1; }
	done
	PKINIT_P11_MODULE=""
	for c in /usr/lib/softhsm/libsofthsm2.so /usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so \
		/usr/lib64/pkcs11/libsofthsm2.so; do
		[ -e "$c" ] && { PKINIT_P11_MODULE=$c; break; }
	done
	[ -n "$PKINIT_P11_MODULE" ] || { _pkinit_log "libsofthsm2.so not found"; return 1; }
	mkdir -p "$PKINIT_DIR/tokens" || return 1
	printf 'directories.tokendir = %s\nobjectstore.backend = file\nlog.level = ERROR\n' \
		"$PKINIT_DIR/tokens" >"$PKINIT_DIR/softhsm2.conf"
	SOFTHSM2_CONF="$PKINIT_DIR/softhsm2.conf"
	PKINIT_TOKEN_LABEL=nlassp-lab
	PKINIT_EMPTY_LABEL=nlassp-empty
	PKINIT_LOCKED_LABEL=nlassp-locked
	export SOFTHSM2_CONF PKINIT_P11_MODULE PKINIT_TOKEN_LABEL PKINIT_EMPTY_LABEL PKINIT_LOCKED_LABEL
	local log="$PKINIT_DIR/softhsm.log"
	{
		softhsm2-util --init-token --free --label "$PKINIT_TOKEN_LABEL" --pin "$PKINIT_PIN" --so-pin "$PKINIT_SO_PIN" &&
			softhsm2-util --init-token --free --label "$PKINIT_EMPTY_LABEL" --pin "$PKINIT_PIN" --so-pin "$PKINIT_SO_PIN" &&
			softhsm2-util --import "$PKINIT_USER_P8" --token "$PKINIT_TOKEN_LABEL" --label alice --id 01 \
				--pin "$PKINIT_PIN" &&
			pkcs11-tool --module "$PKINIT_P11_MODULE" --token-label "$PKINIT_TOKEN_LABEL" --login \
				--pin "$PKINIT_PIN" --write-object "$PKINIT_USER_DER" --type cert --id 01 --label alice &&
			softhsm2-util --init-token --free --label "$PKINIT_LOCKED_LABEL" --pin "$PKINIT_PIN" --so-pin "$PKINIT_SO_PIN" &&
			openssl x509 -in "$PKINIT_CA" -outform DER -out "$PKINIT_DIR/ca.der" &&
			pkcs11-tool --module "$PKINIT_P11_MODULE" --token-label "$PKINIT_LOCKED_LABEL" --login \
				--pin "$PKINIT_PIN" --write-object "$PKINIT_DIR/ca.der" --type cert --id 02 --label ca &&
			_pkinit_lock_user_pin "$PKINIT_LOCKED_LABEL"
	} >"$log" 2>&1 || {
		_pkinit_log "could not fill the SoftHSM2 token:"
		tail -n 20 "$log" >&2
		return 1
	}
	PKINIT_SLOT="$(_pkinit_slot "$PKINIT_TOKEN_LABEL")"
	PKINIT_EMPTY_SLOT="$(_pkinit_slot "$PKINIT_EMPTY_LABEL")"
	PKINIT_LOCKED_SLOT="$(_pkinit_slot "$PKINIT_LOCKED_LABEL")"
	[ -n "$PKINIT_SLOT" ] && [ -n "$PKINIT_EMPTY_SLOT" ] && [ -n "$PKINIT_LOCKED_SLOT" ] || {
		_pkinit_log "no slot for the SoftHSM2 tokens"
		softhsm2-util --show-slots >&2
		return 1
	}
	export PKINIT_SLOT PKINIT_EMPTY_SLOT PKINIT_LOCKED_SLOT
	return 0
}

# pkinit_count_pkinit PRINCIPAL — PKINIT requests from PRINCIPAL whose signature the KDC verified
# (MIT's KDC logs "PKINIT: [no] freshness token received from PRINCIPAL" for each).
pkinit_count_pkinit() {
	local n
	n=$(grep -E 'PKINIT: (no )?freshness token received from ' "$KDC_LOG" 2>/dev/null | grep -cF "from $1") || true
	printf '%s\n' "${n:-0}"
}

# pkinit_count_issued PRINCIPAL — AS exchanges that issued PRINCIPAL a TGT.
pkinit_count_issued() {
	local n
	n=$(grep -F 'AS_REQ' "$KDC_LOG" 2>/dev/null | grep -F 'ISSUE:' | grep -cF "$1 for krbtgt/") || true
	printf '%s\n' "${n:-0}"
}

# pkinit_count_preauth_failed PRINCIPAL — AS-REQs the KDC refused with a failed pre-authentication
# (what a password, or a PIN sent as one, costs: a bad-password count).
pkinit_count_preauth_failed() {
	local n
	n=$(grep -F 'AS_REQ' "$KDC_LOG" 2>/dev/null | grep -F 'PREAUTH_FAILED' | grep -cF "$1") || true
	printf '%s\n' "${n:-0}"
}

# pkinit_count_encts PRINCIPAL — encrypted timestamps the KDC checked for PRINCIPAL and refused:
# a password pre-authentication (what a PIN sent as a password costs: a bad-password count, and
# an offline guess for whoever saw the request). MIT's KDC logs "preauth (encrypted_timestamp)
# verify failure" before the PREAUTH_FAILED line of that AS-REQ.
pkinit_count_encts() {
	local n
	n=$(grep -A1 -F 'preauth (encrypted_timestamp)' "$KDC_LOG" 2>/dev/null | grep -F 'AS_REQ' | grep -cF "$1") || true
	printf '%s\n' "${n:-0}"
}
