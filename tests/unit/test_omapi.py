"""OMAPI client and state watcher: pure decoding, then against a real failover pair.

The pure part: recorded outputs and inputs, no lab."""

from __future__ import annotations

import struct

from tests.helpers.failover import RELATIONSHIP
from wizard.ops.omapi import StateSample, parse_failover_state
from wizard.ops.statewatch import both, diagnose, log_hints, wait_for


def u32(n: int) -> bytes:
    return struct.pack("!I", n)


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
