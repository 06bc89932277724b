#!/usr/bin/env bash
# Installs everything nlassp needs to build and test on Debian 12 (bookworm).
# FreeRDP 3 exists only in bookworm-backports, so the backports source is added first.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"

bp=/etc/apt/sources.list.d/nlassp-bookworm-backports.sources
if ! grep -rqs "bookworm-backports" /etc/apt/sources.list /etc/apt/sources.list.d/; then
  uri=$(awk '/^URIs:/ && /debian\/?$/ {print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
  [ -n "$uri" ] || uri="http://deb.debian.org/debian"
  $SUDO tee "$bp" >/dev/null <<SRC
Types: deb
URIs: $uri
Suites: bookworm-backports
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
fi

$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends -t bookworm-backports \
  freerdp3-dev libwinpr3-dev freerdp3-x11 freerdp3-shadow-x11 winpr3-utils libfreerdp-server3-3 >/dev/null
$SUDO apt-get install -y -qq --no-install-recommends \
  cmake g++ make pkg-config libkrb5-dev krb5-kdc krb5-admin-server krb5-user \
  libcmocka-dev libssl-dev xvfb xauth clang libclang-rt-14-dev python3 procps \
  openssl iproute2 util-linux coreutils nlohmann-json3-dev debootstrap >/dev/null
# The PKCS#11 header the smartcard logon is built with (the token's module is loaded at run time),
# and libfaketime, which runs the lab's KDC with its clock ahead (the PKINIT clock-skew test).
$SUDO apt-get install -y -qq --no-install-recommends libp11-kit-dev faketime >/dev/null
# The lab's smartcard (PKINIT), KDC-proxy and RD Gateway parts: MIT's PKINIT and TLS plugins, a
# SoftHSM2 token with the tools that fill it, FreeIPA's MS-KKDCP proxy, and the Python GSSAPI
# bindings plus gss-ntlmssp that the test gateway authenticates with.
$SUDO apt-get install -y -qq --no-install-recommends \
  krb5-pkinit krb5-k5tls softhsm2 opensc gnutls-bin python3-kdcproxy python3-gssapi \
  gss-ntlmssp >/dev/null
