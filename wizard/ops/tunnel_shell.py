"""What `protect tunnel` runs as root on the peers (POSIX sh), in one place to read.

The private key is made by `wg genkey` on the host, into a root-only file, and only
`wg pubkey` output comes back; no snippet here carries a key on its command line.
"""

from __future__ import annotations

import shlex

from wizard.ops.tunnel_conf import WG_DIR, TunnelEnd
from wizard.remote import guard, shell

q = shlex.quote

PROBE_LINK = "dhw-wgprobe"
PROOF_TABLE = "dhcp_wizard_proof"
TIMER_PID = "/run/dhcp_wizard_proof.timer"
DROPIN = "dhcp-wizard-userspace.conf"


def inspect(end: TunnelEnd) -> str:
    """key=value lines: the tools, what is there already, which WireGuard, which manager."""
    i = q(end.interface)
    return "\n".join([
        "for t in wg wg-quick ip ss; do command -v $t >/dev/null 2>&1 || echo missing=$t; done",
        f"[ -e {q(end.conf_path)} ] && echo conf=present",
        f"[ -e {q(end.conf_path)} ] && grep -q '^# Written by dhcp-wizard' {q(end.conf_path)} "
        "&& echo conf=ours",
        f"[ -d {q(WG_DIR)} ] && echo dir=present",
        f"ip link show {i} >/dev/null 2>&1 && echo link=present",
        f"ss -Huln 'sport = :{int(end.port)}' 2>/dev/null | grep -q . && echo port=taken",
        # The kernel's WireGuard if the host has it (loading the module on demand), else the
        # userspace one; decided by trying, on this host, never by what the host is called.
        f"if ip link add {PROBE_LINK} type wireguard 2>/dev/null; then "
        f"ip link del {PROBE_LINK}; echo impl=kernel; "
        "elif command -v wireguard-go >/dev/null 2>&1; then echo impl=userspace; "
        "else echo impl=none; fi",
        "[ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1 && "
        "echo manager=systemd",
        "true",
    ])


def parse_inspect(text: str) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for line in text.splitlines():
        key, sep, value = line.strip().partition("=")
        if sep:
            out.setdefault(key, []).append(value)
    return out


def key_tmp(stamp: str) -> str:
    """The new private key waits in the run's own root-only directory (/var/run, tmpfs)
    until the switch: an aborted run leaves no key anywhere."""
    return f"{guard.run_dir(stamp)}/wg.key"


def genkey(stamp: str) -> str:
    k = q(key_tmp(stamp))
    return f"set -e; umask 077; wg genkey > {k}; chmod 600 {k}; wg pubkey < {k}"


def install(end: TunnelEnd, stamp: str) -> str:
    """The config (stdin) and the key into /etc/wireguard, both 0600."""
    new = q(end.conf_path + ".dhcp-wizard-new")
    return "\n".join([
        "set -e", "umask 077",
        f"[ -d {q(WG_DIR)} ] || mkdir -m 700 {q(WG_DIR)}",
        f"cat > {new} || {{ rm -f {new}; exit 1; }}",
        f"chmod 600 {new}",
        f"mv -f {q(key_tmp(stamp))} {q(end.key_path)}",
        f"chmod 600 {q(end.key_path)}",
        f"mv -f {new} {q(end.conf_path)}",
    ])


def _env(impl: str) -> str:
    return "WG_QUICK_USERSPACE_IMPLEMENTATION=wireguard-go " if impl == "userspace" else ""


def up(end: TunnelEnd, impl: str, manager: str) -> str:
    """Bring the tunnel up the way the host does it, enabled for the next boot on systemd."""
    if manager == "systemd":
        lines = []
        if impl == "userspace":
            d = q(f"/etc/systemd/system/{end.unit}.service.d")
            lines += [f"mkdir -p {d}",
                      f"printf '[Service]\\nEnvironment=WG_QUICK_USERSPACE_IMPLEMENTATION="
                      f"wireguard-go\\n' > {d}/{DROPIN}",
                      "systemctl daemon-reload"]
        lines.append(f"systemctl enable --now {q(end.unit)} 2>&1")
        return "\n".join(["set -e", *lines])
    return f"{_env(impl)}wg-quick up {q(end.interface)} 2>&1"


def up_command(end: TunnelEnd, impl: str, manager: str) -> str:
    """The bring-up as the operator would type it (for the output)."""
    if manager == "systemd":
        return f"systemctl enable --now {end.unit}"
    return f"{_env(impl)}wg-quick up {end.interface}"


def down(end: TunnelEnd, impl: str, manager: str, made_dir: bool) -> str:
    """Take the tunnel down and remove what `protect tunnel` put there. Idempotent: it is
    the guard's undo on a rollback as well as `--remove`'s last step."""
    i = q(end.interface)
    lines = []
    if manager == "systemd":
        d = q(f"/etc/systemd/system/{end.unit}.service.d")
        lines += [f"systemctl disable --now {q(end.unit)} >/dev/null 2>&1",
                  f"rm -f {d}/{DROPIN}; rmdir {d} 2>/dev/null",
                  "systemctl daemon-reload >/dev/null 2>&1"]
    lines += [
        f"if ip link show {i} >/dev/null 2>&1; then {_env(impl)}wg-quick down {i} "
        f">/dev/null 2>&1 || ip link del {i}; fi",
        f"rm -f {q(end.conf_path)} {q(end.key_path)} {q(end.conf_path + '.dhcp-wizard-new')}",
    ]
    if made_dir:
        lines.append(f"rmdir {q(WG_DIR)} 2>/dev/null")
    lines.append(f"! ip link show {i} >/dev/null 2>&1")
    return "\n".join(lines)


def set_undo(stamp: str, script: str) -> str:
    """Hand the guard what puts the tunnel back (run in its rollback, before dhcpd restarts)."""
    d = q(guard.run_dir(stamp))
    return f"printf '%s\\n' {q(script)} > {d}/undo.tmp && mv -f {d}/undo.tmp {d}/undo"


def handshake(end: TunnelEnd, peer: TunnelEnd) -> str:
    # One ping starts a handshake if the keepalive has not yet; its answer is not needed.
    return (f"ping -c 1 -W 1 {q(peer.ip)} >/dev/null 2>&1; "
            f"wg show {q(end.interface)} latest-handshakes")


def public_key(end: TunnelEnd) -> str:
    return f"wg show {q(end.interface)} public-key 2>/dev/null || wg pubkey < {q(end.key_path)}"


def established(ports: list[int]) -> str:
    flt = " or ".join(f"sport = :{int(p)} or dport = :{int(p)}" for p in sorted(set(ports)))
    return f"ss -tnH state established '( {flt} )'"


def underlay_dev(peer_endpoint: str) -> str:
    return (f"ip -o route get {q(peer_endpoint)} | "
            "sed -n 's/.* dev \\([^ ]*\\).*/\\1/p' | head -n 1")


def drop_on(dev: str, ports: list[int], remove_after: int) -> str:
    """The proof's drop: failover TCP in and out on the underlay interface, in a table of
    its own; a detached timer deletes the table after remove_after seconds whatever happens
    to the wizard."""
    p = ", ".join(str(int(x)) for x in sorted(set(ports)))
    d = dev.replace('"', "")
    ruleset = (f"table inet {PROOF_TABLE} {{\n"
               f" chain in {{ type filter hook input priority -10; policy accept;\n"
               f"  iifname \"{d}\" tcp dport {{ {p} }} counter drop\n"
               f"  iifname \"{d}\" tcp sport {{ {p} }} counter drop\n }}\n"
               f" chain out {{ type filter hook output priority -10; policy accept;\n"
               f"  oifname \"{d}\" tcp dport {{ {p} }} counter drop\n"
               f"  oifname \"{d}\" tcp sport {{ {p} }} counter drop\n }}\n}}\n")
    timer = (f"echo $$ > {TIMER_PID}; sleep {int(remove_after)}; "
             f"nft delete table inet {PROOF_TABLE} 2>/dev/null; rm -f {TIMER_PID}")
    return (f"{undrop()}; "
            f"printf '%s' {q(ruleset)} | nft -f - && "
            f"{{ {shell.detached(timer)} }}")


def drop_counters() -> str:
    return f"nft list table inet {PROOF_TABLE} 2>/dev/null | grep -o 'packets [0-9]*'"


def undrop() -> str:
    # The timer is a session leader (setsid): its group holds its sleep too.
    return (f"[ -s {TIMER_PID} ] && kill -- -$(cat {TIMER_PID}) 2>/dev/null; rm -f {TIMER_PID}; "
            f"nft delete table inet {PROOF_TABLE} 2>/dev/null; "
            f"! nft list table inet {PROOF_TABLE} >/dev/null 2>&1")


def try_connect(address: str, port: int) -> str:
    """Exit 124 when the SYN goes unanswered (dropped), 1 when refused, 0 when it connects."""
    import ipaddress

    address = str(ipaddress.ip_address(address))
    return (f"timeout 1 bash -c ': > /dev/tcp/{address}/{int(port)}' 2>/dev/null; "
            "echo rc=$?")
