"""Port probes: open / refused / timed out, from this host and from a peer, for real — the
timed-out case with an nft drop rule inside a lab host's network namespace.

The pure part: recorded outputs and inputs, no lab."""

from __future__ import annotations

from wizard.checks import probes


CLOSED = 9


def test_probe_output_words():
    assert probes.parse_probe_output("open\n") == ("open", "")
    assert probes.parse_probe_output("error [Errno 99] x\n") == ("error", "[Errno 99] x")
    assert probes.parse_probe_output("") == ("error", "no output")


def test_fixes_name_the_port_the_source_and_the_admin_host():
    fix = probes.firewall_fix("10.0.0.11", 647, "secondary")
    assert "ip saddr 10.0.0.11 tcp dport 647 accept" in fix and "--dport 647" in fix
    assert "ip saddr != 10.9.9.9 drop" in probes.omapi_exposure_fix(7911, "10.9.9.9")
