"""The network between the peers and to them: failover ports both ways, the failover
addresses (owned, and the source of the traffic), OMAPI from this host."""

from __future__ import annotations

from wizard.checks.base import Run, guarded
from wizard.roles import OTHER


def _failover_endpoint(run: Run, pair, role: str) -> tuple[str | None, int]:
    fo = run.answers.failover
    address = getattr(fo, f"{role}_address")
    if address is None and pair.conn(role) is not None:
        address = pair.conn(role).remote_address
    if address is None and role in pair.targets and not pair.targets[role].jumps:
        # Unreachable over SSH: still probe where SSH was pointed, the peer may see it.
        address = pair.targets[role].hostname
    return address, getattr(fo, f"{role}_port")


@guarded("peer-address")
def peer_address_check(run: Run, pair, role: str) -> None:
    """The failover `address` must be this host's own, and the one it sends from: the
    partner accepts a failover connection only from its configured `peer address`."""
    from wizard.checks.probes import source_address_from

    other = OTHER[role]
    own, _ = _failover_endpoint(run, pair, role)
    partner, _ = _failover_endpoint(run, pair, other)
    conn, facts = pair.conn(role), run.facts.get(role)
    if conn is None or facts is None or own is None or partner is None:
        run.add("peer-address", role, "skip", f"{role}: not checked (host or addresses unknown)")
        return
    mine = {a.address for a in facts.addresses}
    key = f"failover.{role}_address"
    if mine and own not in mine:
        run.add("peer-address", role, "fail",
                f"{role} would declare `address {own};` but has no such address "
                f"(it has {', '.join(sorted(mine))}); dhcpd would log `address not available` "
                "and the pair would never reach normal",
                f"set {key} to the {role}'s address on the network the partner reaches")
        return
    source = source_address_from(conn, partner)
    if source is None:
        run.add("peer-address", role, "skip",
                f"{role}: cannot tell which address it sends from (no `ip route get`)")
    elif source != own:
        run.add("peer-address", role, "fail",
                f"{role} reaches {other} {partner} from {source}, not from its failover "
                f"address {own}: {other} only accepts its partner from `peer address {own};`",
                f"set {key} = \"{source}\", or route {partner} via the interface that "
                f"holds {own}")
    else:
        run.add("peer-address", role, "pass",
                f"{role} owns {own} and reaches {other} {partner} from it")


@guarded("port-failover")
def failover_port_check(run: Run, pair, role: str) -> None:
    """From `role` to the other peer's failover port (the partner dhcpd connects there)."""
    from wizard.checks.probes import firewall_fix, probe_from

    other = OTHER[role]
    conn = pair.conn(role)
    address, port = _failover_endpoint(run, pair, other)
    own_address, _ = _failover_endpoint(run, pair, role)
    if conn is None or address is None:
        why = f"{role} not reachable over SSH" if conn is None else \
            f"{other}'s address unknown (set failover.{other}_address)"
        run.add("port-failover", role, "skip", f"{role} -> {other}: {why}")
        return
    res = probe_from(conn, address, port)
    where = f"{role} -> {other} {address}:{port}"
    if res.outcome == "open":
        run.add("port-failover", role, "pass", f"{where}: open (dhcpd listening)")
    elif res.outcome == "refused":
        configured = bool(run.summaries.get(other, {}).get("failover_peers"))
        run.add("port-failover", role, "warn" if configured else "pass",
                f"{where}: reachable, nothing listening yet"
                + (" although its config declares failover" if configured
                   else " (fine before deployment)"),
                "restart dhcpd on the " + other if configured else None)
    elif res.outcome == "timeout" and pair.conn(other) is None:
        run.add("port-failover", role, "fail",
                f"{where}: timed out, and the {other} does not answer SSH either: it is "
                "probably down or cut off", f"bring the {other} up, then check again")
    elif res.outcome == "timeout":
        run.add("port-failover", role, "fail",
                f"{where}: timed out - a firewall drops it; the peers cannot reach each other",
                firewall_fix(own_address, port, other))
    elif res.outcome == "unreachable":
        run.add("port-failover", role, "fail", f"{where}: no route to host",
                f"check routing between the peers, or set failover.{other}_address to an "
                f"address the {role} can reach")
    elif res.outcome == "no-tool":
        run.add("port-failover", role, "warn", f"{where}: cannot probe (the {role} has no "
                "python3, bash with timeout, or nc)", "install netcat or python3 on the peer")
    else:
        run.add("port-failover", role, "warn", f"{where}: probe failed: {res.detail}")


@guarded("port-omapi")
def omapi_port_check(run: Run, pair, role: str) -> None:
    from wizard.checks.probes import firewall_fix, omapi_exposure_fix, tcp_probe

    conn = pair.conn(role)
    port = run.answers.omapi.port
    if conn is None:
        run.add("port-omapi", role, "skip", f"{role} not reachable over SSH")
        return
    if conn.target.jumps:
        run.add("port-omapi", role, "skip", f"{role} is reached through a jump host; OMAPI "
                "is not probed from here")
        return
    address = conn.remote_address
    admin = conn.local_address
    res = tcp_probe(address, port)
    where = f"this host -> {role} {address}:{port}"
    if res.outcome == "open":
        run.add("port-omapi", role, "pass",
                f"{where}: open; OMAPI has no address ACL, so anyone who reaches this port can "
                "try keys on it", omapi_exposure_fix(port, admin))
    elif res.outcome == "refused":
        run.add("port-omapi", role, "pass",
                f"{where}: reachable, nothing listening yet (fine before deployment, which "
                "enables OMAPI)")
    elif res.outcome == "timeout":
        run.add("port-omapi", role, "fail",
                f"{where}: timed out - a firewall drops it; the wizard needs OMAPI to read "
                "failover state and drill", firewall_fix(admin, port, role))
    else:
        run.add("port-omapi", role, "fail", f"{where}: {res.outcome} {res.detail}".strip(),
                "check the route from this host to the peer")
