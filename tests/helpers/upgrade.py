"""What the upgrade tests share: a pair deployed with an hour of MCLT, and readings of it."""

from __future__ import annotations

import json
import re

from tests.conftest import run_cli
from tests.helpers.apply import fresh
from tests.helpers.lab import sh, ssh
from wizard.answers import load_answers


def production_pair(lab_spec, tmp_path_factory):
    """A fresh pair deployed with mclt 3600 (max-response-delay stays short, so the drill's
    fresh-contact wait stays short: what is measured here is MCLT). A generator, for a
    module-scoped fixture of each test file (a file's tests share one worker's lab)."""
    fresh(lab_spec)
    text = lab_spec.answers_path.read_text()
    assert "mclt = 30\n" in text
    path = tmp_path_factory.mktemp("upgrade") / "production.toml"
    path.write_text(text.replace("mclt = 30\n", "mclt = 3600\n"))
    proc = run_cli("deploy", "--answers", str(path), "--yes", "--accept", "ntp", "--no-drill",
                   timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr
    yield path
    fresh(lab_spec)


def version(spec, role: str) -> str:
    client = ssh(spec, role)
    try:
        return sh(client, "/usr/sbin/dhcpd --version 2>&1")[1].strip()
    finally:
        client.close()


def states(path) -> dict[str, str]:
    from wizard.ops.omapi import read_states

    a = load_answers(path)
    secret = open(a.omapi.secret_file).read().strip()
    eps = {r: (a.host(r).host, a.omapi.port) for r in ("primary", "secondary")}
    got = read_states(eps, a.omapi.key_name, secret, a.failover.name, timeout=3)
    return {r: s.state.local_state if s.state else "unreachable" for r, s in got.items()}


def session_events(stdout: str) -> list[dict]:
    where = re.search(r"session recorded in (\S+)", stdout).group(1)
    with open(f"{where}/events.jsonl") as fh:
        return [json.loads(line) for line in fh]


# A dhcpd stopped for its restart drops the DISCOVERs it is still ping-checking (dhcpd pings
# a fresh address for 1 s before offering it), and its partner, still normal, left those
# clients to it by load balancing: measured on the lab, SIGTERM during such a ping, no OFFER
# from anyone (docs/dhcpd-behaviour.md). That is the one loss an in-service restart may
# cost; the requests are one a second, the ping a second, the stop under 1.5 s after launch.
REACH_BEFORE, REACH_AFTER = 1.5, 3.0


def restart_launches(events: list[dict]) -> list[float]:
    """Epoch seconds at which each in-service restart was launched on a host."""
    return [e["t"] - e["data"]["duration"] for e in events
            if e.get("kind") == "command" and e["data"].get("label") == "drill restart"]


def assert_answered_but_at_restarts(report, events: list[dict]) -> None:
    """Every request answered, except at most one at the instant of each in-service
    restart: none during a shutdown, a window, a recovery or the rebalance."""
    launches = restart_launches(events)
    assert launches, "no in-service restart was recorded"
    per_restart: dict[float, int] = {}
    for req in report.requests:
        if req.answered:
            continue
        near = [t for t in launches if -REACH_BEFORE <= req.t - t <= REACH_AFTER]
        assert near, (f"request {req.seq} went unanswered away from any restart "
                      f"({[round(req.t - t, 1) for t in launches]} s from them): "
                      + report.line())
        per_restart[near[0]] = per_restart.get(near[0], 0) + 1
    assert all(n <= 1 for n in per_restart.values()), report.line()
    assert report.longest_gap <= 1.5 * report.every, report.line()


def reconcile_spans(events: list[dict]) -> list[tuple[float, float]]:
    """(start, end), epoch seconds, of each return through dhcpd's conflict resolution."""
    return [(e["t"] - e["data"]["seconds"], e["t"]) for e in events
            if e.get("step") == "drill" and e.get("kind", "").startswith("reconcile-")]


def assert_answered_but_in(report, spans: list[tuple[float, float]], most: int) -> None:
    """Every request answered, except within the given spans (a second of slack before,
    REACH_AFTER after), and at most `most` in each."""
    per_span: dict[tuple[float, float], int] = {}
    for req in report.requests:
        if req.answered:
            continue
        inside = [s for s in spans if s[0] - 1.0 <= req.t <= s[1] + REACH_AFTER]
        assert inside, (f"request {req.seq} went unanswered outside {spans}: " + report.line())
        per_span[inside[0]] = per_span.get(inside[0], 0) + 1
    assert all(n <= most for n in per_span.values()), (per_span, report.line())
