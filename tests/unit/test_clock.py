"""Clock skew: the sample rules (pure) and real readings on the lab, healthy and 90 s off.

The pure part: recorded outputs and inputs, no lab."""

from __future__ import annotations

from types import SimpleNamespace as NS

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
