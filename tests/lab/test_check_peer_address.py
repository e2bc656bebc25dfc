"""The peer-address check: a failover address the host lacks, or does not send from.

Against the real lab; the pure part is in tests/unit/."""

from __future__ import annotations

import pytest

from wizard.checks.engine import run_checks
from wizard.lab import namespaces as ns


def peer_results(answers):
    return {r.host: r for r in run_checks(answers) if r.id == "peer-address"}


@pytest.mark.lab
def test_lab_pair_uses_its_own_addresses(lab, lab_answers, lab_spec):
    got = peer_results(lab_answers)
    assert got["primary"].status == got["secondary"].status == "pass"


@pytest.mark.lab
def test_an_address_the_host_does_not_have_fails(lab, lab_answers, lab_spec):
    stranger = str(lab_spec.network.network_address + 13)
    got = peer_results(lab_answers.with_changes("failover", primary_address=stranger))
    assert got["primary"].status == "fail"
    assert f"address {stranger};" in got["primary"].detail and "address not available" in \
        got["primary"].detail
    assert "failover.primary_address" in got["primary"].fix


@pytest.mark.lab
def test_an_extra_address_the_host_does_not_send_from_fails(lab, lab_answers, lab_spec):
    extra = str(lab_spec.network.network_address + 21)
    prefix = lab_spec.network.prefixlen
    add = ["ip", "addr", "add", f"{extra}/{prefix}", "dev", "eth0"]
    ns.run(ns.host_command(lab_spec, "primary", add))
    try:
        got = peer_results(lab_answers.with_changes("failover", primary_address=extra))
    finally:
        ns.run(ns.host_command(lab_spec, "primary", ["ip", "addr", "del", f"{extra}/{prefix}",
                                                     "dev", "eth0"]))
    result = got["primary"]
    assert result.status == "fail", result
    assert f"from {lab_spec.address('primary')}, not from its failover address {extra}" in \
        result.detail
    assert f'failover.primary_address = "{lab_spec.address("primary")}"' in result.fix
