"""Port probes: open / refused / timed out, from this host and from a peer, for real — the
timed-out case with an nft drop rule inside a lab host's network namespace.

Against the real lab; the pure part is in tests/unit/."""

from __future__ import annotations

import subprocess
from contextlib import contextmanager

import pytest

from wizard.checks import probes


CLOSED = 9


@pytest.fixture(scope="module")
def pair(lab_answers):
    from wizard.remote.ssh import Pair

    with Pair(lab_answers) as p:
        yield p


@contextmanager
def dropped(lab_spec, role, port):
    """An nft rule in the lab host's own namespace that silently drops tcp/port."""
    from wizard.lab.namespaces import host_command
    def nft(*argv, check=True):
        return subprocess.run(host_command(lab_spec, role, ["nft", *argv]), check=check,
                              capture_output=True, text=True, timeout=10)

    nft("add", "table", "inet", "dhwprobe")
    try:
        nft("add", "chain", "inet", "dhwprobe", "input",
            "{ type filter hook input priority 0 ; policy accept ; }")
        nft("add", "rule", "inet", "dhwprobe", "input", "tcp", "dport", str(port), "drop")
        yield
    finally:
        nft("delete", "table", "inet", "dhwprobe", check=False)


def test_from_this_host_open_refused_and_dropped(lab, lab_spec):
    addr = lab_spec.address("primary")
    assert probes.tcp_probe(addr, 22).outcome == "open"
    assert probes.tcp_probe(addr, CLOSED).outcome == "refused"
    with dropped(lab_spec, "primary", CLOSED):
        assert probes.tcp_probe(addr, CLOSED, timeout=0.5).outcome == "timeout"
    assert probes.tcp_probe(addr, CLOSED).outcome == "refused"


def test_from_a_peer_to_the_other(pair, lab_spec):
    sec = lab_spec.address("secondary")
    conn = pair.conn("primary")
    assert probes.probe_from(conn, sec, 22).outcome == "open"
    assert probes.probe_from(conn, sec, CLOSED).outcome == "refused"
    with dropped(lab_spec, "secondary", CLOSED):
        res = probes.probe_from(conn, sec, CLOSED, timeout=1)
    assert res.outcome == "timeout" and res.source == "primary"


def test_check_reports_a_dropped_failover_port_with_the_rule_to_add(pair, lab_answers, lab_spec):
    from wizard.checks.engine import run_checks

    port = lab_answers.failover.secondary_port
    with dropped(lab_spec, "secondary", port):
        results = run_checks(lab_answers, pair=pair)
    [fo] = [r for r in results if r.id == "port-failover" and r.host == "primary"]
    assert fo.status == "fail" and "timed out" in fo.detail
    assert f"ip saddr {lab_spec.address('primary')} tcp dport {port} accept" in fo.fix
    # The other direction is unaffected and still reported.
    [back] = [r for r in results if r.id == "port-failover" and r.host == "secondary"]
    assert back.status != "fail"
