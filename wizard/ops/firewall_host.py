"""Shell run on a peer for `protect firewall`: detection, the watchdog, confirmation.

The watchdog is a detached shell (setsid, its own session, so it outlives the SSH session
that started it and the wizard itself): after the confirm timeout it restores our nft table
from the backup unless a confirmation came first. Confirmation and the watchdog race for one
`mkdir` (atomic), so exactly one of "confirmed" and "restored" happens.
"""

from __future__ import annotations

import shlex

from wizard.ops.firewall_rules import FAMILY, TABLE

RUN_DIR = "/run/dhcp-wizard-firewall"
NFTABLES_CONF = "/etc/nftables.conf"
BEGIN = "# BEGIN dhcp-wizard"
END = "# END dhcp-wizard"

DETECT = r"""
echo "==== nft-present"; if command -v nft >/dev/null 2>&1; then echo yes; else echo no; fi
echo "==== nft"; command -v nft >/dev/null 2>&1 && nft list ruleset 2>&1
for v in iptables-legacy iptables-nft iptables; do
  echo "==== $v"; command -v "$v-save" >/dev/null 2>&1 && "$v-save" 2>/dev/null
done
echo "==== firewalld"
if command -v firewall-cmd >/dev/null 2>&1; then firewall-cmd --state 2>&1; else echo absent; fi
echo "==== firewalld-zone"; command -v firewall-cmd >/dev/null 2>&1 && firewall-cmd --get-default-zone 2>/dev/null
echo "==== firewalld-list"; command -v firewall-cmd >/dev/null 2>&1 && firewall-cmd --list-all 2>/dev/null
echo "==== persist"
[ -f /etc/nftables.conf ] && echo nftables.conf
[ -d /etc/iptables ] && echo iptables-persistent
command -v systemctl >/dev/null 2>&1 && [ "$(systemctl is-enabled nftables 2>/dev/null)" = enabled ] && echo nftables-enabled
true
"""

# Unprivileged on purpose: sudo clears SSH_CONNECTION.
SSH_CLIENT = 'echo "==== ssh"; echo "$SSH_CONNECTION"'


def watchdog_active() -> str:
    return (f"p=$(cat {RUN_DIR}/watchdog.pid 2>/dev/null) && [ ! -e {RUN_DIR}/decided ] && "
            "kill -0 \"$p\" 2>/dev/null && echo active || echo idle")


def arm(restore: str, seconds: float) -> str:
    """Write the backup and start the watchdog; prints the watchdog's pid."""
    d = RUN_DIR
    body = (f"sleep {seconds:g}; if mkdir {d}/decided 2>/dev/null; then "
            f"nft -f {d}/restore.nft && echo restored > {d}/result || echo restore-failed > "
            f"{d}/result; fi")
    return (f"set -e; rm -rf {d}; mkdir -p -m 700 {d}; "
            f"printf %s {shlex.quote(restore)} > {d}/restore.nft; "
            f"nft -c -f {d}/restore.nft; "
            f"setsid sh -c {shlex.quote(body)} </dev/null >/dev/null 2>&1 & "
            f"echo $! > {d}/watchdog.pid; cat {d}/watchdog.pid")


def apply(script: str) -> str:
    return (f"printf %s {shlex.quote(script)} > {RUN_DIR}/apply.nft && "
            f"nft -c -f {RUN_DIR}/apply.nft && nft -f {RUN_DIR}/apply.nft")


def confirm() -> str:
    d = RUN_DIR
    return (f"if mkdir {d}/decided 2>/dev/null; then echo confirmed > {d}/result; "
            f"kill -- -$(cat {d}/watchdog.pid) 2>/dev/null; echo confirmed; "
            f"else cat {d}/result 2>/dev/null || echo unknown; fi")


def restore_now() -> str:
    """Restore before the watchdog would (a failed transaction); wins the same race."""
    d = RUN_DIR
    return (f"if mkdir {d}/decided 2>/dev/null; then kill -- -$(cat {d}/watchdog.pid) "
            f"2>/dev/null; nft -f {d}/restore.nft && echo restored > {d}/result; fi; "
            f"cat {d}/result")


def result() -> str:
    return f"cat {RUN_DIR}/result 2>/dev/null || echo pending"


def list_ours() -> str:
    return f"nft list table {FAMILY} {TABLE} 2>/dev/null || true"


def persist() -> str:
    """Make our table survive a reboot the way a Debian-style host loads its rules: a
    marked block in /etc/nftables.conf (replaced on a re-run, so it is idempotent), checked
    whole with `nft -c` before it is written in place (`cat >`, keeping owner and mode)."""
    f = NFTABLES_CONF
    tmp = f"{RUN_DIR}/nftables.conf.new"
    awk = f"/^{BEGIN}/{{skip=1}} !skip{{print}} /^{END}/{{skip=0}}"
    return (f"[ -f {f} ] || {{ echo no-nftables-conf; exit 0; }}; set -e; "
            f"awk {shlex.quote(awk)} {f} > {tmp}; "
            f"{{ echo {shlex.quote(BEGIN + ' (dhcp-wizard protect firewall; managed block)')}; "
            f"nft list table {FAMILY} {TABLE}; echo {shlex.quote(END)}; }} >> {tmp}; "
            f"nft -c -f {tmp}; cat {tmp} > {f}; rm -f {tmp}; echo persisted")
