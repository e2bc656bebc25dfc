"""`deploy` as a user runs it, when the network is against it: exit 1, the reason in plain
words, both peers serving on their old config, and the session saying what happened."""

from __future__ import annotations

import re
import subprocess
from contextlib import contextmanager

import pytest

from tests.helpers.apply import fresh
from tests.conftest import run_cli
from wizard.lab.client import lease
from wizard.lab import lifecycle
from wizard.lab import namespaces as ns
from wizard.record.session import read_events

pytestmark = pytest.mark.lab

FAILOVER_PORTS = "{ 519, 520 }"


def confs(spec) -> dict[str, str]:
    return {r: (spec.host_dir(r) / "etc-dhcp" / "dhcpd.conf").read_text()
            for r in ("primary", "secondary")}


@contextmanager
def secondary_firewall(spec, *rules: str):
    """nft rules on the secondary's input hook, removed afterwards whatever happens."""
    def nft(*argv):
        ns.run(ns.host_command(spec, "secondary", ["nft", *argv]))

    nft("add", "table", "inet", "dhwfault")
    try:
        nft("add chain inet dhwfault input { type filter hook input priority 0; }")
        for rule in rules:
            nft(f"add rule inet dhwfault input {rule}")
        yield
    finally:
        nft("delete", "table", "inet", "dhwfault")


def assert_serving_unchanged(spec, before: dict[str, str]) -> None:
    assert confs(spec) == before
    st = lifecycle.status(spec)
    for role in ("primary", "secondary"):
        assert st["hosts"][role]["daemons"]["dhcpd"]["running"], f"{role}: dhcpd not running"
        conf = spec.host_dir(role) / "etc-dhcp" / "dhcpd.conf"
        assert subprocess.run(["dhcpd", "-t", "-cf", str(conf)],
                              capture_output=True).returncode == 0


def test_a_dropped_failover_port_stops_deploy_at_the_check(lab, lab_spec, tmp_path):
    fresh(lab_spec)
    before = confs(lab_spec)
    session = tmp_path / "session"
    with secondary_firewall(lab_spec, f"tcp dport {FAILOVER_PORTS} drop"):
        proc = run_cli("deploy", "--answers", str(lab_spec.answers_path), "--yes", "--accept", "ntp",
                       "--session", str(session), timeout=120)
    assert proc.returncode == 1, proc.stdout[-2000:] + proc.stderr
    assert "timed out" in proc.stdout and "nothing was changed" in proc.stdout
    assert "fix:" in proc.stdout  # the rule to add, not only the verdict
    assert "== Step 8" not in proc.stdout
    assert_serving_unchanged(lab_spec, before)
    kinds = {(e["step"], e["kind"]) for e in read_events(session)}
    assert not any(step == "apply" for step, _kind in kinds)
    assert ("session", "end") in kinds


def test_failover_traffic_dropped_after_connect_rolls_both_back(lab, lab_spec, tmp_path):
    """A firewall that lets connections open but drops what flows over them (an IPS, an
    MTU black hole): the check's port probe cannot see it, the pair never gets to normal."""
    fresh(lab_spec)
    before = confs(lab_spec)
    session = tmp_path / "session"
    # SYN, SYN-ACK, RST and bare ACKs are at most 60 bytes; failover messages are longer.
    with secondary_firewall(lab_spec, f"tcp dport {FAILOVER_PORTS} ip length > 64 drop",
                            f"tcp sport {FAILOVER_PORTS} ip length > 64 drop"):
        proc = run_cli("deploy", "--answers", str(lab_spec.answers_path), "--yes", "--accept", "ntp,host-firewall",
                       "--no-drill", "--normal-timeout", "15", "--session", str(session),
                       timeout=240)
        assert proc.returncode == 1, proc.stdout[-3000:] + proc.stderr
        assert "== Step 8" in proc.stdout
        # The wait counts from the restarts, so the figure is the 15 s plus the restart time.
        assert re.search(r"did not reach normal within \d+ s", proc.stdout)
        assert "has not heard from its partner" in proc.stdout  # a diagnosis, not only a verdict
        assert "rolled back to their previous configuration" in proc.stdout
        assert_serving_unchanged(lab_spec, before)
        got = lease(lab_spec, new_client=True, timeout=15)  # clients are served meanwhile
        assert got.server in (lab_spec.address("primary"), lab_spec.address("secondary"))
    events = read_events(session)
    ends = [e for e in events if e["step"] == "apply" and e["kind"] == "rolled-back"]
    assert ends and "did not reach normal" in ends[-1]["data"]["reason"]
    assert events[-1]["kind"] == "end" and events[-1]["data"]["exit_code"] == 1
