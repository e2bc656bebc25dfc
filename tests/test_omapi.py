"""OMAPI client and state watcher: pure decoding, then against a real failover pair."""

from __future__ import annotations

import base64
import secrets
import struct

import pytest

from tests.failover_helpers import RELATIONSHIP, FailoverPair, wait_normal
from wizard.lab.client import lease
from wizard.lab import namespaces as ns
from wizard.ops.omapi import (OmapiAuthError, OmapiClient, OmapiTimeout, OmapiUnknownRelationship,
                          OmapiUnreachable, StateSample, parse_failover_state, read_states)
from wizard.ops.statewatch import both, diagnose, log_hints, roles_in, wait_for


def u32(n: int) -> bytes:
    return struct.pack("!I", n)


# -- pure ---------------------------------------------------------------------------

def test_decodes_states_as_names_not_numbers():
    raw = {b"local-state": u32(254), b"partner-state": u32(4), b"mclt": u32(3600),
           b"local-stos": u32(1_700_000_000), b"hierarchy": u32(1), b"name": b"x"}
    st = parse_failover_state("x", raw)
    assert (st.local_state, st.partner_state, st.role, st.mclt) == (
        "recover-wait", "partner-down", "secondary", 3600)
    assert "MCLT" in st.explain() and not st.serving


def test_watcher_records_each_transition_once_with_its_time():
    seq = iter([("recover", "recover"), ("recover", "recover"), ("recover-done", "recover"),
                ("normal", "normal")])
    clock = iter(range(100))

    def reader():
        p, s = next(seq)
        t = float(next(clock))
        mk = lambda local, partner: parse_failover_state(RELATIONSHIP, {  # noqa: E731
            b"local-state": u32({"recover": 6, "recover-done": 9, "normal": 2}[local]),
            b"partner-state": u32({"recover": 6, "recover-done": 9, "normal": 2}[partner])})
        return {"primary": StateSample(t, "primary", mk(p, s)),
                "secondary": StateSample(t, "secondary", mk(s, p))}

    result = wait_for(reader, both("normal"), timeout=60, sleep=lambda _s: None)
    assert result.ok
    steps = [(t.role, t.before, t.after) for t in result.timeline]
    assert steps == [("primary", "(start)", "recover"), ("secondary", "(start)", "recover"),
                     ("primary", "recover", "recover-done"), ("primary", "recover-done", "normal"),
                     ("secondary", "recover", "normal")]
    assert result.timeline[2].t == 2.0


def test_watcher_gives_up_at_the_deadline():
    now = [0.0]
    sample = {"primary": StateSample(0, "primary", None, "refused")}
    result = wait_for(lambda: sample, both("normal"), timeout=5, clock=lambda: now[0],
                      sleep=lambda s: now.__setitem__(0, now[0] + s))
    assert not result.ok and result.waited >= 5 and result.states() == {"primary": "unreadable"}


def test_diagnosis_names_recover_wait_end_and_comms_interrupted():
    rw = parse_failover_state(RELATIONSHIP, {b"local-state": u32(254), b"partner-state": u32(4),
                                             b"local-stos": u32(1000), b"mclt": u32(60)})
    ci = parse_failover_state(RELATIONSHIP, {b"local-state": u32(3), b"partner-state": u32(2)})
    notes = diagnose({"primary": StateSample(0, "primary", rw),
                      "secondary": StateSample(0, "secondary", ci)}, mclt=60, now=1030)
    assert "recover-wait" in notes[0] and "30 s from now" in notes[0]
    assert "failover port" in notes[1]
    assert "time offset too large" in log_hints("... failover peer x: time offset too large")[0]


# -- live, against dhcpd on the lab -------------------------------------------------------

@pytest.fixture(scope="module")
def pair(lab, lab_spec):
    p = FailoverPair(lab_spec)
    p.start()
    try:
        assert wait_normal(p).ok, "the hand-written failover pair never reached normal"
        yield p
    finally:
        p.stop()


@pytest.mark.lab
def test_reads_both_peers_normal_with_their_roles(pair):
    states = read_states(pair.endpoints(), "omapi_key", pair.secret, RELATIONSHIP)
    assert states["primary"].state.role == "primary"
    assert states["secondary"].state.role == "secondary"
    for s in states.values():
        assert (s.state.local_state, s.state.partner_state) == ("normal", "normal")
        assert s.state.max_response_delay == 15


@pytest.mark.lab
def test_each_failure_has_its_own_plain_message(pair, lab_spec):
    host = lab_spec.address("primary")
    wrong = base64.b64encode(secrets.token_bytes(64)).decode()
    with pytest.raises(OmapiAuthError, match="refused our key"):
        with OmapiClient(host, 7911, "omapi_key", wrong, timeout=2) as c:
            c.failover_state(RELATIONSHIP)
    with pytest.raises(OmapiAuthError):
        with OmapiClient(host, 7911, "not_the_key", pair.secret, timeout=2) as c:
            c.failover_state(RELATIONSHIP)
    with pytest.raises(OmapiUnreachable, match="connection refused"):
        OmapiClient(host, 7912, "omapi_key", pair.secret, timeout=2)
    with OmapiClient(host, 7911, "omapi_key", pair.secret, timeout=2) as c:
        with pytest.raises(OmapiUnknownRelationship, match="'no-such-pair'"):
            c.failover_state("no-such-pair")
    rule = ["nft", "add", "table", "inet", "dhwtest"]
    ns.run(ns.host_command(lab_spec, "primary", rule))
    try:
        ns.run(ns.host_command(lab_spec, "primary", [
            "nft", "add chain inet dhwtest input { type filter hook input priority 0; }"]))
        ns.run(ns.host_command(lab_spec, "primary", [
            "nft", "add rule inet dhwtest input tcp dport 7911 drop"]))
        with pytest.raises(OmapiTimeout, match="no answer within 1 s"):
            OmapiClient(host, 7911, "omapi_key", pair.secret, timeout=1)
    finally:
        ns.run(ns.host_command(lab_spec, "primary", ["nft", "delete", "table", "inet", "dhwtest"]))


@pytest.mark.lab
def test_graceful_shutdown_partner_down_service_and_recovery(pair, lab_spec):
    reader = lambda: read_states(pair.endpoints(), "omapi_key", pair.secret, RELATIONSHIP)  # noqa: E731
    with OmapiClient(lab_spec.address("primary"), 7911, "omapi_key", pair.secret) as c:
        c.set_local_state(RELATIONSHIP, "shutdown")
    down = wait_for(reader, roles_in(primary="shutdown", secondary="partner-down"), timeout=20)
    assert down.ok, down.states()
    got = lease(lab_spec, new_client=True, timeout=15)
    assert got.server == lab_spec.address("secondary")  # only the survivor can have answered
    with OmapiClient(lab_spec.address("primary"), 7911, "omapi_key", pair.secret) as c:
        c.set_local_state(RELATIONSHIP, "recover")
    back = wait_for(reader, both("normal"), timeout=90)
    assert back.ok, back.states()
    assert any(t.after == "recover-wait" or t.after == "recover" for t in back.timeline)
