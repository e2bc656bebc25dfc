"""The host firewall on each peer (nftables, iptables, firewalld, none), seen from the host,
and what it does to the failover port, OMAPI and DHCP (67/udp)."""

from __future__ import annotations

from wizard.checks.base import Run, guarded


@guarded("host-firewall")
def host_firewall_check(run: Run, pair, role: str) -> None:
    from wizard.ops.firewall_apply import detect, ports_of

    conn = pair.conn(role)
    if conn is None:
        run.add("host-firewall", role, "skip", f"{role} not reachable over SSH")
        return
    det = detect(conn, run.answers, role)
    ports = ports_of(run.answers, role)
    effects = "; ".join(f"{p} ({ports[p]}): {e}" for p, e in det.effects.items())
    blocked = [f"{p} ({ports[p]})" for p, e in det.effects.items()
               if ports[p] != "OMAPI" and e.startswith(("drop", "reject"))]
    omapi = next(e for p, e in det.effects.items() if ports[p] == "OMAPI")
    if blocked:
        run.add("host-firewall", role, "warn", f"{role}: {det.detail}; {effects}",
                f"the {role}'s firewall drops {', '.join(blocked)}: open it there (from the "
                "partner for failover, from the clients or relays for DHCP)")
    elif not det.ours and not omapi.startswith(("drop", "reject", "dropped", "rich")) \
            and "some sources" not in omapi:
        run.add("host-firewall", role, "pass", f"{role}: {det.detail}; {effects}",
                "OMAPI is open to every source here; `dhcp-wizard protect firewall` limits it "
                "to the admin addresses and the failover port to the partner")
    else:
        run.add("host-firewall", role, "pass", f"{role}: {det.detail}; {effects}")
