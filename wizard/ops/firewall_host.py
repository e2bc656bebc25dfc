"""Shell run on a peer for `protect firewall`: detection, the watchdog, confirmation.

The watchdog is a detached shell (setsid, its own session, so it outlives the SSH session
that started it and the wizard itself): after the confirm timeout it restores our nft table
from the backup unless a confirmation came first. Confirmation and the watchdog race for one
`mkdir` (atomic), so exactly one of "confirmed" and "restored" happens.
"""

from __future__ import annotations

import shlex

from wizard.ops import firewall_firewalld as fwd
from wizard.ops.firewall_rules import FAMILY, TABLE
from wizard.remote import shell

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
echo "==== iptables-tools"
for v in iptables-legacy iptables-nft iptables; do
  command -v "$v-save" >/dev/null 2>&1 && command -v "$v-restore" >/dev/null 2>&1 && echo "$v"
done
[ -f /etc/iptables/rules.v4 ] && { echo "==== rules-v4"; cat /etc/iptables/rules.v4; }
echo "==== nftables-conf-ours"; grep -q '^# BEGIN dhcp-wizard' /etc/nftables.conf 2>/dev/null && echo yes
true
"""

# What only `protect firewall` needs: our firewalld objects, permanent (our files) and
# runtime. OURS is the quick look (two firewall-cmd calls); DRIFT also lists the whole runtime
# and permanent config (8 calls, each a python start: seconds on a busy host) to tell whether
# the host's runtime differs from its permanent config, which the reload that loads our
# policy would throw away. Our own objects are left out of that comparison; interface
# bindings too where NetworkManager runs (firewalld asks it for them again after a reload).
_FWD_HEAD = r"""
if command -v firewall-cmd >/dev/null 2>&1 && [ "$(firewall-cmd --state 2>/dev/null)" = running ]; then
echo "==== firewalld-policy-file"; cat @POLICY_FILE@ 2>/dev/null
echo "==== firewalld-ipset-file"; cat @IPSET_FILE@ 2>/dev/null
"""
DETECT_FIREWALLD_OURS = (_FWD_HEAD + r"""
echo "==== firewalld-runtime-ours"
firewall-cmd --get-policies 2>/dev/null | tr ' ' '\n' | grep -qx @POLICY@ && echo policy
firewall-cmd --get-ipsets 2>/dev/null | tr ' ' '\n' | grep -qx @IPSET@ && echo ipset
fi
true
""")
DETECT_FIREWALLD = (_FWD_HEAD + r"""
nm=; [ "$(nmcli -t -f RUNNING general 2>/dev/null)" = running ] && nm=1
fw_state() {
  firewall-cmd $1 --list-all-zones
  firewall-cmd $1 --list-all-policies 2>/dev/null || echo "policies-unsupported"
  for s in $(firewall-cmd $1 --get-ipsets); do
    printf 'ipset-%s\n  entries: %s\n' "$s" "$(firewall-cmd $1 --ipset="$s" --get-entries | tr '\n' ' ')"
  done
  firewall-cmd $1 --direct --get-all-rules 2>/dev/null
}
# One line per setting value, sorted: the order firewall-cmd lists things in is not a
# difference (runtime lists in the order things were added, permanent in file order).
norm() {
  awk -v nm="$nm" '/^$/{next}
    /^[^ \t]/{name=$0; sub(/ \(.*\)$/,"",name); skip=(name=="@POLICY@"||name=="ipset-@IPSET@");
      if(!skip)print name; next}
    skip{next}
    nm&&/^  interfaces:/{next}
    /^  [a-z][a-z -]*:/{k=$0; sub(/:.*/,"",k); v=$0; sub(/^[^:]*:/,"",v); n=split(v,a," ");
      if(n==0)print name " |" k ":"; for(i=1;i<=n;i++)print name " |" k ": " a[i]; next}
    {print name " |" $0}' | LC_ALL=C sort
}
t=$(mktemp -d)
# Side by side: each firewall-cmd is a python start, the two listings are independent.
fw_state "" > "$t/runtime.raw" & fw_state --permanent > "$t/permanent.raw"; wait
echo "==== firewalld-runtime"; cat "$t/runtime.raw"
norm < "$t/runtime.raw" > "$t/runtime"; norm < "$t/permanent.raw" > "$t/permanent"
echo "==== firewalld-drift"; diff "$t/permanent" "$t/runtime" | grep '^[<>]' | head -40
rm -rf "$t"
fi
true
""")
DETECT_FIREWALLD_OURS, DETECT_FIREWALLD = (
    x.replace("@POLICY_FILE@", fwd.POLICY_FILE).replace("@IPSET_FILE@", fwd.IPSET_FILE)
    .replace("@POLICY@", fwd.POLICY).replace("@IPSET@", fwd.IPSET)
    for x in (DETECT_FIREWALLD_OURS, DETECT_FIREWALLD))

# Unprivileged on purpose: sudo clears SSH_CONNECTION.
SSH_CLIENT = 'echo "==== ssh"; echo "$SSH_CONNECTION"'


def watchdog_active() -> str:
    return (f"p=$(cat {RUN_DIR}/watchdog.pid 2>/dev/null) && [ ! -e {RUN_DIR}/decided ] && "
            "kill -0 \"$p\" 2>/dev/null && echo active || echo idle")


def arm(backup: str, restore_sh: str, seconds: float) -> str:
    """Run `backup` (shell that saves what restore.sh needs into RUN_DIR and checks it),
    write restore.sh, start the watchdog; prints the watchdog's pid. restore.sh puts back
    the runtime rules and the persisted files, whatever the kind of firewall."""
    d = RUN_DIR
    body = (f"sleep {seconds:g}; if mkdir {d}/decided 2>/dev/null; then "
            f"if sh {d}/restore.sh >> {d}/restore.log 2>&1; then echo restored > {d}/result; "
            f"else echo restore-failed > {d}/result; fi; fi")
    return (f"set -e; rm -rf {d}; mkdir -p -m 700 {d}; {backup}; "
            f"printf %s {shlex.quote(restore_sh)} > {d}/restore.sh; "
            f"{shell.detached(body)} "
            f"echo $! > {d}/watchdog.pid; cat {d}/watchdog.pid")


def keep_file(path: str, n: int) -> tuple[str, str]:
    """(backup, restore) shell for one persisted file: as it was, or absent again."""
    keep = f"{RUN_DIR}/keep-{n}"
    return (f"if [ -e {path} ]; then cp -p {path} {keep}; fi",
            f"if [ -e {keep} ]; then cat {keep} > {path}; else rm -f {path}; fi")


def write_script(name: str, text: str) -> str:
    return f"printf %s {shlex.quote(text)} > {RUN_DIR}/{name}"


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
            f"2>/dev/null; if sh {d}/restore.sh >> {d}/restore.log 2>&1; then echo restored "
            f"> {d}/result; else echo restore-failed > {d}/result; fi; fi; cat {d}/result")


def restore_again() -> str:
    """Restore after a confirmation (verification failed): the race is decided already."""
    d = RUN_DIR
    return (f"sh {d}/restore.sh >> {d}/restore.log 2>&1 && echo restored > {d}/result && "
            "echo restored")


def result() -> str:
    return f"cat {RUN_DIR}/result 2>/dev/null || echo pending"


def list_ours() -> str:
    return f"nft list table {FAMILY} {TABLE} 2>/dev/null || true"


def unpersist() -> str:
    """Our marked block out of /etc/nftables.conf (the rest of the file as it was)."""
    f = NFTABLES_CONF
    awk = f"/^{BEGIN}/{{skip=1}} !skip{{print}} /^{END}/{{skip=0}}"
    return (f"grep -q '^{BEGIN}' {f} 2>/dev/null || {{ echo nothing; exit 0; }}; set -e; "
            f"t=$(mktemp); awk {shlex.quote(awk)} {f} > $t; nft -c -f $t; cat $t > {f}; "
            "rm -f $t; echo unpersisted")


def write_checked(path: str, text: str, sha_before: str, check: str) -> str:
    """Replace a file the wizard read (and edited) only if it is still what was read, and
    only with content `check` (reading the new file on stdin) accepts; in place (`cat >`),
    keeping owner and mode."""
    return (f"set -e; t=$(mktemp); printf %s {shlex.quote(text)} > $t; "
            f"[ \"$(sha256sum < {path} | cut -d' ' -f1)\" = {sha_before} ] || "
            f"{{ rm -f $t; echo changed-since-read; exit 0; }}; "
            f"{check} < $t || {{ rm -f $t; echo check-failed; exit 0; }}; cat $t > {path}; "
            "rm -f $t; echo written")


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
