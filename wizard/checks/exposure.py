"""Who else reaches the failover ports and OMAPI: the ports probed from every vantage point
the wizard has (wizard/checks/vantage.py), all at once.

What a reach means depends on where it comes from. From a client segment, either port is a
failure: OMAPI has no address ACL (whoever connects can try keys on it, and a key holder can
shut the service down), and the failover port takes connections from anyone before dhcpd
looks at the peer address. From this host (an admin host) OMAPI is what the wizard needs;
the failover port is worth a note. A refused connect from a client segment fails too: nothing
filters the port, and the deployment is what makes dhcpd listen there. A TCP connect is said as it went: accepted (something
listens), refused (the host answered with a reset: nothing filters it, nothing listens yet),
timed out (dropped on the way: filtered), or no route.
"""

from __future__ import annotations

import shlex
import socket
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from wizard.checks.base import Run, guarded
from wizard.checks.probes import PROBE_TIMEOUT, parse_probe_output, remote_probe_script, tcp_probe
from wizard.checks.vantage import ADMIN, CLIENT, RELAY, plugged_in
from wizard.errors import OperationFailed
from wizard.roles import ROLES

SAID = {"open": "accepted (something listens and answered)",
        "refused": "refused (the host answered with a reset: nothing filters the port, "
                   "nothing listens on it yet)",
        "timeout": "timed out (dropped on the way: filtered)",
        "unreachable": "no route to it"}


@dataclass(frozen=True)
class Target:
    role: str
    service: str          # "failover" or "OMAPI"
    address: str
    port: int

    def __str__(self) -> str:
        return f"{self.role} {self.service} {self.address}:{self.port}"


def protect_fix(answers) -> str:
    where = answers.source or "FILE"
    return (f"run `dhcp-wizard protect firewall --answers {where}`: it admits the failover "
            "port from the peer alone and OMAPI from the admin addresses alone")


class WizardVantage:
    """This host, where the wizard runs."""
    kind = ADMIN
    name = "this host"

    def __init__(self):
        self._source: str | None = None

    def probe(self, targets, timeout):
        self._source = _local_source(targets[0].address if targets else None)
        with ThreadPoolExecutor(max(1, len(targets))) as pool:
            results = list(pool.map(lambda t: tcp_probe(t.address, t.port, timeout), targets))
        return [(r.outcome, r.detail) for r in results]

    def source(self):
        return self._source


def _local_source(address: str | None) -> str | None:
    """The address this host sends from toward `address` (a UDP connect sends nothing)."""
    if address is None:
        return None
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        sock.connect((address, 9))
        return sock.getsockname()[0]
    except OSError:
        return None
    finally:
        sock.close()


def multi_probe_script(targets, timeout: float) -> str:
    """Every target probed at once on a remote host; each answer in a section of its own,
    and the address the host sends from."""
    jobs = "\n".join(f"( {remote_probe_script(t.address, t.port, timeout)} ) >\"$d/{i}\" 2>&1 &"
                     for i, t in enumerate(targets))
    shows = "\n".join(f'echo "@@{i}"; cat "$d/{i}"' for i in range(len(targets)))
    first = shlex.quote(targets[0].address) if targets else "127.0.0.1"
    return f"""
d=$(mktemp -d 2>/dev/null || echo /tmp/dhw-exposure.$$); mkdir -p "$d"; trap 'rm -rf "$d"' EXIT
{jobs}
wait
{shows}
echo "@@src"; ip -4 route get {first} 2>/dev/null
"""


def parse_multi(output: str, count: int) -> tuple[list[tuple[str, str]], str | None]:
    from wizard.checks.path import sections
    from wizard.checks.probes import route_source

    s = sections(output)
    return ([parse_probe_output(s.get(str(i), "")) for i in range(count)],
            route_source(s.get("src", "")))


class SshVantage:
    """A host the wizard reaches over SSH (a relay, the drill's probe host), logged in to as
    the primary is: same user, key, known_hosts and sudo. No privilege is needed to probe."""

    def __init__(self, name: str, kind: str, host_answers, session=None):
        self.name, self.kind = name, kind
        self.host_answers, self.session = host_answers, session
        self._source: str | None = None

    def probe(self, targets, timeout):
        from wizard.remote.ssh import connect
        from wizard.remote.ssh_config import resolve_host

        conn = connect(self.name, resolve_host(self.host_answers), sudo=self.host_answers.sudo,
                       session=self.session)
        try:
            res = conn.run("sh -s", stdin=multi_probe_script(targets, timeout),
                           timeout=timeout + 8, label="exposure probes")
        finally:
            conn.close()
        if res.timed_out:
            raise OperationFailed(f"the probes on {self.name} did not finish in time")
        outcomes, self._source = parse_multi(res.stdout, len(targets))
        return outcomes

    def source(self):
        return self._source


def vantage_points(answers, session=None) -> list:
    base = answers.primary._replace(port=None, config=None, restart=None)
    out: list = [WizardVantage()]
    probe = answers.drill.probe or ""
    if probe.startswith("ssh:"):
        # The drill's probe host sits on a served segment, as a client does.
        host = probe.partition(":")[2]
        out.append(SshVantage(f"probe host {host}", CLIENT, base._replace(host=host), session))
    for relay in getattr(answers.relays, "ssh", ()):
        out.append(SshVantage(f"relay {relay}", RELAY, base._replace(host=relay), session))
    out.extend(plugged_in(answers))
    return out


def targets_of(run: Run, pair) -> list[Target]:
    from wizard.checks.ports import _failover_endpoint

    out: list[Target] = []
    for role in ROLES:
        address, port = _failover_endpoint(run, pair, role)
        if address is None:
            continue
        out.append(Target(role, "failover", address, port))
        omapi = [address]
        conn = pair.conn(role)
        if conn is not None and not conn.target.jumps and conn.remote_address not in omapi:
            omapi.append(conn.remote_address)    # dhcpd's OMAPI listens on every address
        out += [Target(role, "OMAPI", a, run.answers.omapi.port) for a in omapi]
    return out


def judge(kind: str, target: Target, outcome: str) -> tuple[str, str]:
    """(status, what it means) for one probe (pure)."""
    if outcome in ("timeout", "unreachable"):
        return "pass", "not reachable from there"
    if outcome not in ("open", "refused"):
        return "skip", "could not probe"
    listening = outcome == "open"
    if kind == CLIENT:
        if target.service == "OMAPI":
            harm = ("OMAPI has no address ACL: anyone on the client segment can connect, try "
                    "keys at leisure, and with the key shut the service down")
        else:
            harm = ("clients can open failover connections (dhcpd checks the peer address "
                    "only after accepting them) and flood or disrupt the partnership")
        if listening:
            return "fail", f"reachable from a client segment: {harm}"
        # Nothing filters it: the exposure is there, waiting for dhcpd to listen.
        return "fail", (f"reachable from a client segment (no firewall stops it; dhcpd "
                        f"listens there once deployed): {harm}")
    if kind == ADMIN:
        if target.service == "OMAPI":
            return "pass", "reachable from this admin host, as the wizard needs"
        return "warn", ("the failover port is reachable from this host, not only from the "
                        "peer: so it is from whatever shares this host's network")
    return "warn", (f"reachable from a relay: only the peer (failover) and admin hosts "
                    f"(OMAPI) need it" if kind == RELAY else "reachable")


def _probe_one(vantage, targets):
    try:
        return vantage.probe(targets, PROBE_TIMEOUT), None
    except OperationFailed as exc:
        return None, exc.message
    except Exception as exc:  # noqa: BLE001 - one vantage point failing is that one's skip
        return None, f"{type(exc).__name__}: {exc}"


@guarded("exposure")
def exposure_check(run: Run, pair) -> None:
    targets = targets_of(run, pair)
    if not targets:
        run.add("exposure", None, "skip", "no failover address known: nothing to probe")
        return
    vantages = vantage_points(run.answers, run.session)
    with ThreadPoolExecutor(len(vantages)) as pool:
        answers = list(pool.map(lambda v: _probe_one(v, targets), vantages))
    fix = protect_fix(run.answers)
    for vantage, (outcomes, error) in zip(vantages, answers):
        if outcomes is None:
            run.add("exposure", vantage.name, "skip",
                    f"{vantage.name}: could not probe from there: {error}")
            continue
        src = vantage.source()
        where = f"{vantage.name}{f' ({src})' if src else ''}"
        for target, (outcome, detail) in zip(targets, outcomes):
            status, meaning = judge(vantage.kind, target, outcome)
            said = SAID.get(outcome, f"{outcome} {detail}".strip())
            if run.session is not None:
                run.session.event("exposure", "probe", vantage=vantage.name,
                                  vantage_kind=vantage.kind, source=src, role=target.role,
                                  service=target.service, address=target.address,
                                  port=target.port, outcome=outcome, detail=detail)
            run.add("exposure", vantage.name, status,
                    f"{where} -> {target}: {said}; {meaning}",
                    fix if status in ("fail", "warn") else None)
