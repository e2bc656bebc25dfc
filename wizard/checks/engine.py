"""The check engine: pre-flight and upgrade checks of a pair, shared by `check`, the TUI and
`deploy`. UI-free: results go to a progress callback as they come, cancellation comes in as a
threading.Event, and nothing here prints.

One host failing (down, wrong key, no sudo, no dhcpd) is a failed check on that host; the
other host is still checked as far as it can be. Statuses: pass, warn, fail, and skip for a
check that could not run (a skip never counts as a pass, nor fails the run).
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from typing import Callable

from wizard.errors import WizardError

ROLES = ("primary", "secondary")
STATUSES = ("pass", "warn", "fail", "skip")


@dataclass(frozen=True)
class CheckResult:
    id: str
    host: str | None        # "primary", "secondary", a relay, or None for the pair
    status: str
    detail: str
    fix: str | None = None

    def as_dict(self) -> dict:
        out = asdict(self)
        if out["fix"] is None:
            del out["fix"]
        return out


def ok(results: list[CheckResult]) -> bool:
    return not any(r.status == "fail" for r in results)


class _Run:
    def __init__(self, answers, session, progress, cancel):
        self.answers = answers
        self.session = session
        self.progress = progress
        self.cancel = cancel or threading.Event()
        self.results: list[CheckResult] = []
        self._lock = threading.Lock()
        self.facts: dict = {}
        self.configs: dict = {}
        self.summaries: dict = {}

    def add(self, id: str, host: str | None, status: str, detail: str,
            fix: str | None = None) -> None:
        result = CheckResult(id, host, status, detail, fix)
        with self._lock:
            self.results.append(result)
        if self.session is not None:
            self.session.event("check", "result", host=host, id=id, status=status,
                               detail=detail, fix=fix)
        if self.progress is not None:
            self.progress(result)


def run_checks(answers, session=None, progress: Callable[[CheckResult], None] | None = None,
               cancel: threading.Event | None = None, pair=None,
               ssh_config=None, passphrase=None) -> list[CheckResult]:
    """All checks of the pair. Pass an open wizard.remote.ssh.Pair to reuse its connections."""
    from wizard.remote.ssh import Pair

    run = _Run(answers, session, progress, cancel)
    own_pair = pair is None
    if own_pair:
        pair = Pair(answers, session=session, ssh_config=ssh_config,
                    passphrase=passphrase).open()
    try:
        _ssh_checks(run, pair)
        if run.cancel.is_set():
            return _cancelled(run)
        with ThreadPoolExecutor(8) as pool:
            jobs = [pool.submit(_host_checks, run, pair, role) for role in ROLES]
            jobs.append(pool.submit(_clock_check, run, pair))
            jobs += [pool.submit(_failover_port_check, run, pair, role) for role in ROLES]
            jobs += [pool.submit(_omapi_port_check, run, pair, role) for role in ROLES]
            jobs.append(pool.submit(_relay_checks, run, pair))
            for job in jobs:
                job.result()
        if run.cancel.is_set():
            return _cancelled(run)
        _parity_check(run)
        with ThreadPoolExecutor(2) as pool:
            list(pool.map(lambda role: _peer_address_check(run, pair, role), ROLES))
        _lint_check(run)
        _failover_state_check(run, pair)
        with ThreadPoolExecutor(2) as pool:
            list(pool.map(lambda role: _leftovers_check(run, pair, role), ROLES))
    finally:
        if own_pair:
            pair.close()
    order = {id: i for i, id in enumerate(CHECK_ORDER)}
    return sorted(run.results, key=lambda r: (order.get(r.id, 99), ROLES.index(r.host)
                                              if r.host in ROLES else 2))


CHECK_ORDER = ("ssh", "facts", "dhcpd-version", "dhcp-listen", "ntp", "version-parity",
               "clock-skew", "port-failover", "peer-address", "port-omapi", "config-lint", "failover-state",
               "relay", "leftovers")


def _cancelled(run: _Run) -> list[CheckResult]:
    run.add("cancelled", None, "skip", "checks cancelled before they finished")
    return list(run.results)


def _guard(fn):
    """A bug or surprise in one check becomes that check's failure, not a lost run."""
    def wrapper(run: _Run, *args):
        try:
            return fn(run, *args)
        except WizardError as exc:
            run.add(fn.__name__.strip("_").replace("_check", "").replace("_", "-"),
                    args[-1] if args and args[-1] in ROLES else None, "fail", exc.message,
                    exc.hint)
        except Exception as exc:  # noqa: BLE001 - reported as a result, never a traceback
            run.add("internal", args[-1] if args and args[-1] in ROLES else None, "fail",
                    f"{fn.__name__} crashed: {type(exc).__name__}: {exc}",
                    "please report this with the session directory")
    wrapper.__name__ = fn.__name__
    return wrapper


def _ssh_checks(run: _Run, pair) -> None:
    from wizard.remote.ssh_config import fingerprint

    for role in ROLES:
        conn = pair.conn(role)
        if conn is None:
            err = pair.errors[role]
            run.add("ssh", role, "fail", f"{role}: {getattr(err, 'message', err)}",
                    getattr(err, "hint", None))
        else:
            key = conn.transport.get_remote_server_key()
            run.add("ssh", role, "pass",
                    f"{conn.target.describe()} (host key {key.get_name()} {fingerprint(key)})")


@_guard
def _host_checks(run: _Run, pair, role: str) -> None:
    from wizard.facts import gather, read_config

    conn = pair.conn(role)
    if conn is None:
        for id in ("dhcpd-version", "dhcp-listen"):
            run.add(id, role, "skip", f"{role} not reachable over SSH")
        return
    try:
        facts = gather(conn)
    except WizardError as exc:
        run.add("facts", role, "fail", exc.message, exc.hint)
        return
    run.facts[role] = facts
    if run.session is not None:
        run.session.event("facts", "host", host=role, **facts.as_dict())
    if facts.dhcpd.path is None:
        run.add("dhcpd-version", role, "fail", f"{role}: dhcpd is not installed (not on PATH, "
                "/usr/sbin or /usr/local/sbin)", _install_hint(facts.os.family))
    elif facts.dhcpd.version is None:
        run.add("dhcpd-version", role, "fail",
                f"{role}: {facts.dhcpd.path} --version said {facts.dhcpd.raw!r}, not an ISC "
                "dhcpd version", "install ISC DHCP 4.4 (isc-dhcp-server / dhcp-server)")
    else:
        major = facts.dhcpd.version.split(".")[:2]
        status = "pass" if major == ["4", "4"] else "warn"
        run.add("dhcpd-version", role, status,
                f"{role}: ISC dhcpd {facts.dhcpd.version} at {facts.dhcpd.path} "
                f"({facts.os.name or 'unknown OS'})",
                None if status == "pass" else "the wizard is built for dhcpd 4.4; upgrade both "
                "peers to 4.4.3-P1")
    restart = run.answers.host(role).restart or facts.service.restart
    if not facts.running:
        run.add("dhcp-listen", role, "fail", f"{role}: dhcpd is not running",
                f"start it ({restart or 'with your service manager'}) and look at its log "
                "(journalctl -u or /var/log/syslog) for why it stopped")
    elif not facts.listens("udp", 67):
        run.add("dhcp-listen", role, "warn",
                f"{role}: dhcpd (pid {facts.process.pid}) runs but nothing listens on udp/67 "
                "(or the host has no ss/sockstat/netstat to tell)",
                "check the interfaces dhcpd was started on")
    else:
        run.add("dhcp-listen", role, "pass",
                f"{role}: dhcpd pid {facts.process.pid} listens on udp/67, interfaces "
                f"{facts.interfaces.value or 'all with a subnet'}; config {facts.config.value} "
                f"(from {facts.config.source}); restart with `{restart}`")
    from wizard.checks.clock import ntp_verdict

    run.add("ntp", role, *ntp_verdict(role, facts.ntp))
    path = run.answers.host(role).config or facts.config.value
    if path:
        config, summary = read_config(conn, path)
        run.summaries[role] = summary
        if config is not None:
            run.configs[role] = config
        facts.conf = summary
        if run.session is not None:
            run.session.event("facts", "config", host=role, path=path, **summary)


def _install_hint(family: str | None) -> str:
    return {"debian": "apt-get install isc-dhcp-server",
            "rhel": "dnf install dhcp-server (RHEL 10 no longer ships it)",
            "freebsd": "pkg install isc-dhcp44-server"}.get(
        family, "install ISC DHCP 4.4 (isc-dhcp-server)")


@_guard
def _clock_check(run: _Run, pair) -> None:
    from wizard.checks import clock

    conns = {r: pair.conn(r) for r in ROLES if pair.conn(r) is not None}
    if len(conns) < 2:
        run.add("clock-skew", None, "skip", "needs both peers reachable over SSH")
        return
    # NTP is asked at the address SSH reached; through a jump host that is not reachable.
    ntp = {r: c.remote_address for r, c in conns.items() if not c.target.jumps}
    reading = clock.measure(conns, ntp)
    if reading is None:
        run.add("clock-skew", None, "fail", "cannot read both clocks (no NTP answer and "
                "`date +%s.%N` failed over SSH)", "check that `date` works on both peers")
        return
    if run.session is not None:
        run.session.event("clock", "reading", skew=reading.skew, error=reading.error,
                          method=reading.method)
    status, detail, fix = clock.verdict(reading, run.answers.checks.max_skew_seconds)
    run.add("clock-skew", "secondary" if status == "fail" else None, status, detail, fix)


def _failover_endpoint(run: _Run, pair, role: str) -> tuple[str | None, int]:
    fo = run.answers.failover
    address = getattr(fo, f"{role}_address")
    if address is None and pair.conn(role) is not None:
        address = pair.conn(role).remote_address
    if address is None and role in pair.targets and not pair.targets[role].jumps:
        # Unreachable over SSH: still probe where SSH was pointed, the peer may see it.
        address = pair.targets[role].hostname
    return address, getattr(fo, f"{role}_port")


@_guard
def _peer_address_check(run: _Run, pair, role: str) -> None:
    """The failover `address` must be this host's own, and the one it sends from: the
    partner accepts a failover connection only from its configured `peer address`."""
    from wizard.checks.probes import source_address_from

    other = ROLES[1 - ROLES.index(role)]
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


@_guard
def _failover_port_check(run: _Run, pair, role: str) -> None:
    """From `role` to the other peer's failover port (the partner dhcpd connects there)."""
    from wizard.checks.probes import firewall_fix, probe_from

    other = ROLES[1 - ROLES.index(role)]
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


@_guard
def _omapi_port_check(run: _Run, pair, role: str) -> None:
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


def _parity_check(run: _Run) -> None:
    versions = {r: run.facts[r].dhcpd.version for r in ROLES
                if r in run.facts and run.facts[r].dhcpd.version}
    if len(versions) < 2:
        run.add("version-parity", None, "skip", "needs the dhcpd version of both peers")
        return
    p, s = versions["primary"], versions["secondary"]
    if p == s:
        run.add("version-parity", None, "pass", f"both run dhcpd {p}")
    elif p.split(".")[:2] == s.split(".")[:2]:
        run.add("version-parity", None, "warn", f"primary runs {p}, secondary {s}",
                "run the same release on both peers (4.4.3-P1 is the last)")
    else:
        run.add("version-parity", None, "fail", f"primary runs {p}, secondary {s}",
                "upgrade both peers to the same dhcpd release before setting up failover")


def _lint_check(run: _Run) -> None:
    if len(run.configs) < 2:
        why = "; ".join(f"{r}: {run.summaries[r]['error']}" for r in ROLES
                        if "error" in run.summaries.get(r, {}))
        run.add("config-lint", None, "fail" if why else "skip",
                why or "needs both configs read over SSH",
                "fix the config so that `dhcpd -t` accepts it" if why else None)
        return
    try:
        from wizard.conf.lint import lint_pair
    except ImportError:
        run.add("config-lint", None, "skip", "the pair lint is not available in this version")
        return
    findings = lint_pair(run.configs["primary"], run.configs["secondary"])
    deployed = any(c.peers for c in run.configs.values())
    if not deployed:
        # Before deployment, missing failover/OMAPI settings are what `plan` adds, not faults.
        findings = [f for f in findings if f.id not in ("peer-missing", "omapi-port-missing")]
    errors = [f for f in findings if f.severity == "error"]
    warns = [f for f in findings if f.severity == "warn"]
    if run.session is not None:
        run.session.event("check", "lint", findings=[f.as_dict() for f in findings])
    state = "" if deployed else "no failover configured yet; "
    if errors:
        status = "fail" if deployed else "warn"
        run.add("config-lint", None, status,
                f"{state}{len(errors)} error(s): " + " | ".join(f.render() for f in errors[:3]),
                "fix these in the configs, or let `dhcp-wizard plan` align them")
    elif warns:
        run.add("config-lint", None, "warn",
                f"{state}{len(warns)} warning(s): " + " | ".join(f.render() for f in warns[:3]))
    else:
        run.add("config-lint", None, "pass",
                f"{state}the two configs agree" + ("" if deployed else
                                                    " (`plan` adds failover and OMAPI)"))


@_guard
def _failover_state_check(run: _Run, pair) -> None:
    name = run.answers.failover.name
    declared = [r for r in ROLES if name in run.summaries.get(r, {}).get("failover_peers", {})]
    if not declared:
        run.add("failover-state", None, "skip", f"failover \"{name}\" is not configured yet")
        return
    secret, from_file = _omapi_secret(run)
    ports = {r: run.summaries[r].get("omapi_port") for r in declared}
    if secret is None or not all(ports.values()):
        run.add("failover-state", None, "skip",
                "OMAPI is not configured with a key the wizard holds, so the state cannot be read",
                "set omapi.secret_file in the answers, or let `plan` configure OMAPI")
        return
    from wizard.ops.failover_health import OmapiAccess, judge
    from wizard.ops.omapi import read_states

    endpoints = {r: (pair.conn(r).remote_address, ports[r]) for r in declared if pair.conn(r)}
    samples = read_states(endpoints, run.answers.omapi.key_name, secret, name)
    # The fix names the secret file only when the key the check used came from it.
    secret_file = run.answers.omapi.secret_file if from_file else None
    access = {r: OmapiAccess(host, port, run.answers.omapi.key_name, secret_file)
              for r, (host, port) in endpoints.items()}
    restart = {r: run.answers.host(r).restart or (run.facts[r].service.restart
                                                  if r in run.facts else None)
               for r in endpoints}
    verdicts = judge(samples, name, access, mclt=run.answers.failover.mclt,
                     start_hint={r: f"`{c}`" for r, c in restart.items() if c})
    for v in verdicts:
        run.add("failover-state", v.role, v.status, v.detail, v.fix)


def _omapi_secret(run: _Run) -> tuple[str | None, bool]:
    """(secret, whether it came from omapi.secret_file)."""
    from wizard.conf.omapi_key import existing, read_secret_file

    secret, from_file = None, False
    if run.answers.omapi.secret_file:
        secret = read_secret_file(run.answers.omapi.secret_file)
        from_file = secret is not None
    if secret is None and run.configs:
        secret = existing(run.answers.omapi.key_name, *run.configs.values())
    if secret is not None and run.session is not None:
        run.session.redactor.add(secret)
    return secret, from_file


@_guard
def _relay_checks(run: _Run, pair) -> None:
    try:
        from wizard.checks import relays
    except ImportError:
        return
    relays.check(run.answers, run.add, pair, run.session)


@_guard
def _leftovers_check(run: _Run, pair, role: str) -> None:
    """What earlier runs left on the host: a run in progress fails the check; a run being
    finished by its guard, stray uploads or old watchdogs warn (deploy deals with them)."""
    from wizard.ops.leftovers import scan

    conn = pair.conn(role)
    if conn is None:
        return
    facts = run.facts.get(role)
    config = getattr(getattr(facts, "config", None), "value", None)
    leases = getattr(getattr(facts, "leases", None), "value", None)
    found = scan(conn, role, config, leases)
    findings = found.findings()
    worst = "fail" if any(s == "fail" for s, _ in findings) else \
        "warn" if any(s == "warn" for s, _ in findings) else "pass"
    details = [t for s, t in findings if s == worst] or [f"{role}: nothing left by earlier runs"]
    fix = {"fail": "wait for the other run to finish (it holds the lock)",
           "warn": "`dhcp-wizard deploy` waits for or removes these before it changes anything"
           }.get(worst)
    run.add("leftovers", role, worst, "; ".join(details), fix)
