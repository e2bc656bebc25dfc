"""DHCP relays must forward to BOTH peers, or the secondary never sees those clients and
failover only covers half the network.

A Linux relay reachable over SSH (isc-dhcp-relay / dhcrelay) is checked for listing both
servers; for any other relay the check shows the exact lines to add (Cisco, Juniper,
dhcrelay) until the operator confirms them in [relays] confirmed.
"""

from __future__ import annotations

import ipaddress
import shlex

from wizard.checks.base import Run, guarded

# A dhcrelay known to run in another network namespace (a container on the relay host, or
# another relay of the wizard's lab on the same machine) relays other networks: skipped, as
# the facts script skips such a dhcpd. Reading another user's namespace needs root, hence
# the script runs through sudo where the answers say so.
RELAY_SCRIPT = r"""
echo "@@ps"; me=$(readlink /proc/$$/ns/net 2>/dev/null)
ps ax -o pid= -o args= 2>/dev/null | awk '{ n = $2; sub(/.*\//, "", n); if (n == "dhcrelay") print }' |
while read -r pid args; do
  ns=$(readlink /proc/$pid/ns/net 2>/dev/null)
  [ -n "$me" ] && [ -n "$ns" ] && [ "$ns" != "$me" ] && continue
  echo "$args"
done
echo "@@default"; cat /etc/default/isc-dhcp-relay 2>/dev/null
"""


def _ipv4(word: str) -> bool:
    try:
        ipaddress.IPv4Address(word)
        return True
    except ValueError:
        return False


def relay_servers(output: str) -> tuple[set[str], str]:
    """Server addresses a Linux relay forwards to, and where that was read (pure)."""
    part = output.partition("@@default")
    ps_text = part[0].replace("@@ps", "")
    servers: set[str] = set()
    for line in ps_text.splitlines():
        words = line.split()
        # Options with a value (-i IF, -p PORT, -c HOPS, ...) never take an IPv4 address
        # except -s/-pf paths; the servers are the bare IPv4 words.
        servers |= {w for w in words[1:] if _ipv4(w)}
    if servers:
        return servers, "running dhcrelay"
    for line in part[2].splitlines():
        line = line.strip()
        if line.startswith("SERVERS="):
            value = line.partition("=")[2]
            try:
                words = shlex.split(value, comments=True)
            except ValueError:
                words = [value.strip("\"'")]
            return {w for w in " ".join(words).split() if w}, "/etc/default/isc-dhcp-relay"
    return set(), "nothing (no dhcrelay running, no /etc/default/isc-dhcp-relay)"


def helper_lines(servers: list[str]) -> str:
    """The lines to add on a relay for both peers, in the usual dialects."""
    p, s = servers
    return "; ".join([
        f"Cisco IOS, on the client-facing interface: `ip helper-address {p}` and "
        f"`ip helper-address {s}`",
        f"Juniper: `set forwarding-options dhcp-relay server-group DHCP {p}` and "
        f"`set forwarding-options dhcp-relay server-group DHCP {s}`, with "
        "`set forwarding-options dhcp-relay group CLIENTS active-server-group DHCP`",
        f"dhcrelay: SERVERS=\"{p} {s}\" in /etc/default/isc-dhcp-relay",
    ])


def server_addresses(answers, pair) -> list[str]:
    out = []
    for role in ("primary", "secondary"):
        addr = getattr(answers.failover, f"{role}_address")
        if addr is None:
            conn = pair.conn(role) if pair is not None else None
            addr = conn.remote_address if conn is not None else answers.host(role).host
        out.append(addr)
    return out


def check(answers, add, pair=None, session=None) -> None:
    """Add one `relay` result per configured relay through add(id, host, status, detail, fix)."""
    relays = getattr(answers, "relays", None)
    if relays is None or not (relays.addresses or relays.ssh):
        return
    servers = server_addresses(answers, pair)
    for relay in relays.ssh:
        _check_over_ssh(answers, add, relay, servers, session)
    for relay in relays.addresses:
        if relay in relays.ssh:
            continue
        if relay in relays.confirmed:
            add("relay", relay, "pass", f"relay {relay}: the operator confirmed it forwards to "
                f"{servers[0]} and {servers[1]}")
        else:
            add("relay", relay, "warn",
                f"relay {relay}: cannot be checked from here; it must forward to both "
                f"{servers[0]} and {servers[1]}",
                helper_lines(servers) + f"; then add \"{relay}\" to [relays] confirmed")


def _check_over_ssh(answers, add, relay: str, servers: list[str], session) -> None:
    from wizard.errors import OperationFailed
    from wizard.remote.ssh import connect, sudo_refused
    from wizard.remote.ssh_config import resolve

    p = answers.primary
    try:
        target = resolve(relay, user=p.user, identity=p.identity, known_hosts=p.known_hosts)
        conn = connect(relay, target, sudo=p.sudo, session=session)
    except OperationFailed as exc:
        add("relay", relay, "fail", f"relay {relay}: {exc.message}", exc.hint)
        return
    try:
        res = conn.run("sh -s", stdin=RELAY_SCRIPT, privileged=True, timeout=10, label="relay")
        if sudo_refused(res):
            # A relay that gives this login no sudo: ps still shows its own processes.
            res = conn.run("sh -s", stdin=RELAY_SCRIPT, timeout=10, label="relay")
    finally:
        conn.close()
    found, source = relay_servers(res.stdout)
    missing = [s for s in servers if s not in found]
    if not missing:
        add("relay", relay, "pass", f"relay {relay} forwards to both peers ({source})")
    else:
        add("relay", relay, "fail",
            f"relay {relay} does not forward to {', '.join(missing)} (it lists "
            f"{', '.join(sorted(found)) or 'no server'}; from {source})",
            f"set SERVERS=\"{servers[0]} {servers[1]}\" in /etc/default/isc-dhcp-relay and "
            "restart isc-dhcp-relay")


@guarded("relay")
def relay_check(run: Run, pair) -> None:
    check(run.answers, run.add, pair, run.session)
