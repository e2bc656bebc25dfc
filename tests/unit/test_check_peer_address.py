"""The peer-address check: a failover address the host lacks, or does not send from.

The pure part: recorded outputs and inputs, no lab."""

from __future__ import annotations

from wizard.checks.probes import route_source


def test_route_source_is_read_from_ip_route_get():
    out = "203.0.113.12 dev eth0 src 203.0.113.11 uid 0 \n    cache \n"
    assert route_source(out) == "203.0.113.11"
    assert route_source("RTNETLINK answers: Network is unreachable") is None
