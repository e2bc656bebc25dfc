"""Verdicts on a pair's failover states, and the omshell fix they print."""

from __future__ import annotations

import struct
import subprocess

import pytest

from wizard.ops.failover_health import OmapiAccess, judge, recover_command
from wizard.ops.omapi import STATE_CODES, StateSample, parse_failover_state

REL = "failover-partner"
ACCESS = {"primary": OmapiAccess("10.0.0.11", 7911, "omapi_key", None),
          "secondary": OmapiAccess("10.0.0.12", 7911, "omapi_key", None)}


def sample(role: str, local: str | None, partner: str = "normal", stos: int = 0,
           mclt: int | None = None) -> StateSample:
    if local is None:
        return StateSample(0, role, None, "OMAPI on x:7911: connection refused")
    raw = {b"local-state": struct.pack("!I", STATE_CODES[local]),
           b"partner-state": struct.pack("!I", STATE_CODES[partner]),
           b"local-stos": struct.pack("!I", stos)}
    if mclt:
        raw[b"mclt"] = struct.pack("!I", mclt)
    return StateSample(0, role, parse_failover_state(REL, raw))


def verdicts(p, s, **kw):
    got = judge({"primary": p, "secondary": s}, REL, ACCESS, **kw)
    return {v.role: v for v in got}


def test_both_normal_pass():
    v = verdicts(sample("primary", "normal"), sample("secondary", "normal"))
    assert [x.status for x in v.values()] == ["pass", "pass"] and v["primary"].fix is None


def test_a_peer_in_shutdown_fails_with_the_omshell_recovery_naming_it():
    v = verdicts(sample("primary", "shutdown", "partner-down"),
                 sample("secondary", "partner-down", "shutdown"))
    assert v["primary"].status == "fail" and "out of service" in v["primary"].detail
    assert "across dhcpd restarts" in v["primary"].detail
    assert "server 10.0.0.11" in v["primary"].fix and "set local-state = 6" in v["primary"].fix
    assert "KEY" in v["primary"].fix
    # The survivor's verdict names the peer that is out and how to bring it back.
    assert v["secondary"].status == "fail"
    assert "the primary is out of service (shutdown)" in v["secondary"].detail
    assert "server 10.0.0.11" in v["secondary"].fix


def test_partner_down_with_a_dead_partner_says_start_it():
    v = verdicts(sample("primary", None), sample("secondary", "partner-down", "shutdown"),
                 start_hint={"primary": "`service isc-dhcp-server start`"})
    assert v["primary"].status == "fail" and "primary is out of service" in v["primary"].detail
    assert v["secondary"].status == "fail" and "(unreadable)" in v["secondary"].detail
    assert "start dhcpd on the primary (`service isc-dhcp-server start`)" in v["secondary"].fix


def test_communications_interrupted_fails_pointing_at_port_and_clocks():
    v = verdicts(sample("primary", "communications-interrupted"),
                 sample("secondary", "communications-interrupted"))
    for x in v.values():
        assert x.status == "fail" and "cannot talk" in x.detail
        assert "failover port" in x.fix and "60 s" in x.fix


def test_survivor_of_a_crash_names_the_dead_peer():
    v = verdicts(sample("primary", None), sample("secondary", "communications-interrupted"))
    assert "the primary is out of service" in v["secondary"].detail
    assert v["secondary"].fix.startswith("start dhcpd on the primary")


def test_recover_wait_is_a_warning_with_its_countdown_while_the_partner_serves():
    v = verdicts(sample("primary", "recover-wait", "partner-down", stos=1000, mclt=60),
                 sample("secondary", "partner-down", "recover-wait"), now=1030)
    assert v["primary"].status == "warn" and "30 s from now" in v["primary"].fix
    assert v["secondary"].status == "warn" and "rejoins (recover-wait)" in v["secondary"].detail


@pytest.mark.parametrize("state", ["recover", "startup", "potential-conflict", "recover-wait"])
def test_neither_peer_serving_is_a_failure(state):
    v = verdicts(sample("primary", state, state, stos=1000, mclt=60),
                 sample("secondary", state, state, stos=1000, mclt=60), now=1010)
    assert all(x.status == "fail" and "Neither peer serves" in x.detail for x in v.values())


@pytest.mark.parametrize("written", ["c2VjcmV0\n", "c2Vj\ncmV0\n"])  # wrapped, as openssl does
def test_recipe_is_one_shell_line_that_feeds_omshell_exactly_this(tmp_path, written):
    secret_file = tmp_path / "omapi secret"     # a space, to prove the quoting
    secret_file.write_text(written)
    cmd = recover_command(OmapiAccess("10.0.0.11", 7911, "omapi_key", str(secret_file)), REL)
    assert "c2VjcmV0" not in cmd and cmd.endswith(" | omshell") and "\n" not in cmd
    fed = subprocess.run(["sh", "-c", cmd.removesuffix(" | omshell")], capture_output=True,
                         text=True, timeout=5).stdout
    assert fed.splitlines() == ["server 10.0.0.11", "port 7911", "key omapi_key c2VjcmV0",
                                "connect", "new failover-state", f'set name = "{REL}"', "open",
                                "set local-state = 6", "update"]
