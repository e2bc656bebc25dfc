"""Clock skew: the sample rules (pure) and real readings on the lab, healthy and 90 s off.

Against the real lab; the pure part is in tests/unit/."""

from __future__ import annotations

import pytest

from wizard.checks import clock


def _measure(answers, use_ntp):
    from wizard.remote.ssh import Pair

    with Pair(answers) as pair:
        conns = pair.connections
        ntp = {r: c.remote_address for r, c in conns.items()} if use_ntp else {}
        return clock.measure(conns, ntp)


@pytest.mark.parametrize("use_ntp", [True, False], ids=["ntp", "ssh"])
def test_healthy_lab_pair_has_no_skew(lab_answers, use_ntp):
    reading = _measure(lab_answers, use_ntp)
    assert reading.method == ("ntp" if use_ntp else "ssh")
    assert abs(reading.skew) < 0.5 and reading.error < 0.5


def test_ntp_silent_peer_falls_back_to_ssh(lab_answers, lab_spec):
    from wizard.remote.ssh import Pair

    unused = str(lab_spec.network.network_address + 13)   # nothing answers NTP there
    with Pair(lab_answers) as pair:
        off = clock.peer_offset(pair.conn("primary"), unused)
    assert off.method == "ssh" and abs(off.offset) < 0.5


def test_secondary_90_s_ahead_is_measured_both_ways_and_fails_check(lab, lab_spec):
    from tests.conftest import run_cli
    from wizard.answers import load_answers
    from wizard.lab import lifecycle
    quiet = lambda _m: None  # noqa: E731
    try:
        lifecycle.up(lab_spec, skew_secondary=90, progress=quiet)
        answers = load_answers(lab_spec.answers_path)  # rebuilt: new host keys
        for use_ntp in (True, False):
            reading = _measure(answers, use_ntp)
            assert 89 < reading.skew < 91, reading
        proc = run_cli("check", "--answers", str(lab_spec.answers_path), "--json")
        assert proc.returncode == 1, proc.stderr
        import json

        out = json.loads(proc.stdout)
        [skew] = [c for c in out["checks"] if c["id"] == "clock-skew"]
        assert skew["status"] == "fail" and "ahead" in skew["detail"]
        assert 89 < float(skew["detail"].split(" s ahead")[0].split()[-1]) < 91
        assert out["ok"] is False
    finally:
        lifecycle.up(lab_spec, skew_secondary=0, progress=quiet)
