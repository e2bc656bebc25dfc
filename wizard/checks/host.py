"""One peer as SSH finds it: the login itself, the host's facts, its dhcpd (version,
running, listening), its time service and its config; then the two versions side by side."""

from __future__ import annotations

from wizard.checks.base import Run, guarded
from wizard.errors import WizardError
from wizard.roles import ROLES


def ssh_checks(run: Run, pair) -> None:
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


@guarded("facts")
def host_checks(run: Run, pair, role: str) -> None:
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


@guarded("version-parity")
def parity_check(run: Run) -> None:
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
