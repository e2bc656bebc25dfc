"""Clock skew: the sample rules (pure) and real readings on the lab, healthy and 90 s off."""

from __future__ import annotations

from types import SimpleNamespace as NS

import pytest

from wizard.checks import clock


def test_lowest_delay_usable_ntp_sample_wins():
    samples = [NS(offset=5.0, delay=0.010, stratum=3, leap=0),
               NS(offset=4.0, delay=0.002, stratum=0, leap=0),   # kiss-o'-death: dropped
               NS(offset=3.0, delay=0.001, stratum=2, leap=3),   # unsynchronised: dropped
               NS(offset=5.1, delay=0.004, stratum=3, leap=0)]
    best = clock.best_ntp_sample(samples)
    assert (best.offset, best.error, best.method) == (5.1, 0.002, "ntp")
    assert clock.best_ntp_sample(samples[1:3]) is None


def test_date_output_with_and_without_nanoseconds():
    assert clock.parse_date("1717171717.250000000\n") == (1717171717.25, 0.0)
    assert clock.parse_date("1717171717.N\n") == (1717171717.5, 0.5)  # BSD date
    assert clock.parse_date("date: illegal option\n") is None


def _reading(skew, error=0.01):
    a = clock.Offset(0.0, error / 2, "ntp")
    return clock.SkewReading(skew, error, "ntp", a, clock.Offset(skew, error / 2, "ntp"))


def test_verdict_names_the_skew_the_limit_and_dhcpds_60_s():
    status, detail, fix = clock.verdict(_reading(90.2), 5)
    assert status == "fail" and "90.2 s ahead" in detail and "60 s" in detail and "NTP" in fix
    assert clock.verdict(_reading(-1.0), 5)[0] == "pass"
    assert "behind" in clock.verdict(_reading(-1.0), 5)[1]
    # Within the error bound of the limit: not a pass, not a fail.
    assert clock.verdict(_reading(4.9, error=0.5), 5)[0] == "warn"


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
