#!/usr/bin/env bash
# All set-up on a Debian 12 machine, as root: the lab's packages, a virtualenv, the project.
# Safe to run again: it installs only what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" != 0 ]; then
    echo "setup: run as root (the lab creates network namespaces): sudo bash $0" >&2
    exit 2
fi

PACKAGES=(isc-dhcp-server isc-dhcp-client isc-dhcp-relay openssh-server openssh-client chrony faketime
          busybox nftables iproute2 util-linux procps netcat-openbsd sudo passwd openssl
          wireguard-go wireguard-tools firewalld dbus iputils-ping iputils-tracepath traceroute
          iptables
          python3 python3-venv
          chromium)   # tests/tui/test_tui_browser.py loads the wizard's web page in it
missing=()
for p in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "setup: installing ${missing[*]}" >&2
    # The daemons belong inside the lab, not on this machine: keep the packages' scripts
    # from starting them here (a chronyd or dhcpd on the real uplink would be wrong).
    made_policy=""
    if [ ! -e /usr/sbin/policy-rc.d ]; then
        printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
        chmod 755 /usr/sbin/policy-rc.d
        made_policy=1
    fi
    trap '[ -n "$made_policy" ] && rm -f /usr/sbin/policy-rc.d' EXIT
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# PYTHON and VENV choose another interpreter and virtualenv (CI also tests the machine's
# default python3 beside Debian's own, which is what `sudo` finds).
PY=${PYTHON:-python3}
VENV=${VENV:-.venv}
if [ ! -x "$VENV/bin/python" ]; then
    "$PY" -m venv "$VENV"
fi
"$VENV/bin/python" -m pip install -q --disable-pip-version-check -e '.[test]'
echo "setup: ready ($("$VENV/bin/dhcp-wizard" --version), $("$VENV/bin/python" --version))" >&2
