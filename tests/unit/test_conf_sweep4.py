"""Pairs found by the fourth sweep of the planner (issue 12: diffs, layout, existing OMAPI and
failover, errors) that broke its promise: each test names the input, what the plan did, and
what it must do."""

from __future__ import annotations

from tests.helpers.conf import assert_dhcpd_and_lint_accept, planned_pair


def _subnet(net: str, nl: str = "\n", unit: str = "  ") -> str:
    return (f"subnet {net}.0 netmask 255.255.255.0 {{{nl}{unit}pool {{{nl}"
            f"{unit * 2}range {net}.10 {net}.20;{nl}{unit}}}{nl}}}{nl}")


# -- layout: a copied block takes the target file's style ------------------------------------

def test_a_subnet_copied_from_a_crlf_primary_into_an_lf_secondary_is_written_with_lf(tmp_path):
    # The copy kept the primary's \r\n: an LF file got a block of CRLF lines (and the line
    # the plan adds inside the copy, LF, in the middle of them).
    primary = _subnet("10.0.0", "\r\n") + _subnet("10.0.1", "\r\n")
    _, plan = planned_pair(tmp_path, primary, _subnet("10.0.0"))
    after = plan.main("secondary").after
    assert "subnet 10.0.1.0" in after and "\r" not in after
    assert_dhcpd_and_lint_accept(plan)


def test_a_subnet_copied_from_an_lf_primary_into_a_crlf_secondary_is_written_with_crlf(tmp_path):
    _, plan = planned_pair(tmp_path, _subnet("10.0.0") + _subnet("10.0.1"),
                           _subnet("10.0.0", "\r\n"))
    after = plan.main("secondary").after
    assert "subnet 10.0.1.0" in after and after.count("\n") == after.count("\r\n")
