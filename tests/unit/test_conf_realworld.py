"""Configs written the way real sites write them (not the way the generator does) that the
engine once got wrong: each test names the input and what went wrong."""

from __future__ import annotations

from tests.helpers.conf import assert_dhcpd_and_lint_accept, needs_dhcpd, planned_pair
from wizard.conf.lint import lint_pair
from wizard.conf.model import load
from wizard.conf.validate import dhcpd_errors


def _subnet(lo: str, hi: str) -> str:
    return (f"subnet 198.51.100.0 netmask 255.255.255.0 {{\n"
            f"  pool {{ range {lo} {hi}; }}\n}}\n")


@needs_dhcpd
def test_addresses_with_leading_zeros_are_read_in_decimal_as_dhcpd_reads_them(tmp_path):
    # Padded columns (`198.51.100.010`) are decimal to dhcpd but octal to inet_aton: the
    # primary's .10-.20 read as .8-.16, the same as the secondary's real .8-.16, so the plan
    # and lint passed a pair whose pools differ; `.08` (no octal digit) was refused.
    primary = _subnet("198.051.100.010", "198.051.100.020")
    secondary = _subnet("198.51.100.8", "198.51.100.16")
    assert dhcpd_errors(primary) == [] and dhcpd_errors(_subnet("198.51.100.08", "198.51.100.09")) == []
    findings = lint_pair(load("p", text=primary), load("s", text=secondary))
    assert [f.id for f in findings if f.id == "range-outside-subnet"] == []
    _, plan = planned_pair(tmp_path, primary, secondary)
    assert [d.only_primary for d in plan.differences] == [("198.51.100.10-198.51.100.20",)]
    assert "range 198.051.100.010 198.051.100.020;" in plan.main("secondary").after
    assert_dhcpd_and_lint_accept(plan)
    _, plan = planned_pair(tmp_path, _subnet("198.51.100.08", "198.51.100.09"))
    assert_dhcpd_and_lint_accept(plan)
