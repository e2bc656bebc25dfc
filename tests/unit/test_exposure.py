"""The exposure check's judgement, its remote script's answers, the vantage-point hook, the
registry rule that lets a deployment go past an exposure failure (and only that one), and
[protect] trusted in the answers."""

from __future__ import annotations

import subprocess

import pytest

from wizard.answers import answers_from_dict
from wizard.checks.base import CheckResult
from wizard.checks.exposure import Target, judge, multi_probe_script, parse_multi, protect_fix
from wizard.checks.registry import spec
from wizard.checks.vantage import ADMIN, CLIENT, RELAY, FINDERS, plugged_in, register
from wizard.errors import InputError
from wizard.flow.policy import judge as gate

OMAPI = Target("primary", "OMAPI", "198.51.100.27", 7911)
FAILOVER = Target("secondary", "failover", "198.51.100.44", 520)


@pytest.mark.parametrize("outcome", ["open", "refused"])
@pytest.mark.parametrize("target", [OMAPI, FAILOVER])
def test_either_port_reachable_from_a_client_segment_fails(outcome, target):
    status, meaning = judge(CLIENT, target, outcome)
    assert status == "fail" and "client segment" in meaning
    if target is OMAPI:
        assert "no address ACL" in meaning and "shut the service down" in meaning
    if outcome == "refused":
        assert "no firewall stops it" in meaning


@pytest.mark.parametrize("kind", [CLIENT, ADMIN, RELAY])
@pytest.mark.parametrize("outcome", ["timeout", "unreachable"])
def test_filtered_or_unrouted_is_not_reachable_from_anywhere(kind, outcome):
    assert judge(kind, OMAPI, outcome) == ("pass", "not reachable from there")


def test_the_admin_host_needs_omapi_and_only_notes_the_failover_port():
    assert judge(ADMIN, OMAPI, "open")[0] == "pass"
    assert judge(ADMIN, FAILOVER, "refused")[0] == "warn"
    assert judge(RELAY, OMAPI, "open")[0] == "warn"
    assert judge(CLIENT, OMAPI, "error")[0] == "skip"


def test_the_fix_is_the_protect_command_with_the_answers_file():
    answers = answers_from_dict({"primary": {"host": "a"}, "secondary": {"host": "b"}},
                                source="/etc/pair.toml")
    assert "`dhcp-wizard protect firewall --answers /etc/pair.toml`" in protect_fix(answers)


def test_the_remote_script_probes_every_target_and_says_each_outcome_as_it_went():
    """Run here with sh: a port that listens, one that refuses; both answer at once."""
    import socket

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    free = closed.getsockname()[1]
    closed.close()
    try:
        targets = [Target("primary", "OMAPI", "127.0.0.1", listener.getsockname()[1]),
                   Target("secondary", "OMAPI", "127.0.0.1", free)]
        out = subprocess.run(["sh", "-s"], input=multi_probe_script(targets, 1.0),
                             capture_output=True, text=True, timeout=20).stdout
    finally:
        listener.close()
    outcomes, source = parse_multi(out, 2)
    assert [o for o, _ in outcomes] == ["open", "refused"]
    assert source in (None, "127.0.0.1")


def test_a_plugged_in_vantage_point_is_found_for_the_answers_it_claims():
    class Point:
        name, kind = "segment x", CLIENT

    saved = dict(FINDERS)
    FINDERS.clear()             # the lab's, registered by conftest, wants real answers
    try:
        register("test", lambda answers: [Point()] if answers == "mine" else [])
        assert [v.name for v in plugged_in("mine")] == ["segment x"]
        assert plugged_in("other") == []
    finally:
        FINDERS.clear()
        FINDERS.update(saved)


def test_an_exposure_failure_fails_but_does_not_block_and_any_other_failure_still_blocks():
    assert spec("exposure").fail == "note" and spec("relay").fail == "block"
    g = gate([CheckResult("exposure", "lab client", "fail", "OMAPI reachable from clients"),
              CheckResult("path", "primary", "warn", "routed across untrusted networks")])
    assert g.reasons == () and g.open()
    g = gate([CheckResult("port-failover", "primary", "fail", "timed out")])
    assert g.reasons == ("timed out",)


def _answers(protect):
    return answers_from_dict({"primary": {"host": "a"}, "secondary": {"host": "b"},
                              "protect": protect}, source="pair.toml")


def test_trusted_networks_are_validated_and_normalised():
    assert _answers({"trusted": ["10.1.0.0/16", " 192.0.2.0/24"]}).protect.trusted == (
        "10.1.0.0/16", "192.0.2.0/24")
    assert _answers({}).protect.trusted == ()


@pytest.mark.parametrize("value, words", [
    (["10.1.0.1/16"], "host bits"),
    (["dmz"], "is not an IPv4 network"),
    ([10], "is not a string"),
    ("10.0.0.0/8", "must be a list"),
])
def test_a_bad_trusted_network_is_refused_with_the_key_and_a_fix(value, words):
    with pytest.raises(InputError) as err:
        _answers({"trusted": value})
    assert "protect.trusted" in err.value.message and words in err.value.message + str(
        err.value.hint)
    if words != "must be a list":
        assert '"10.1.0.0/16"' in err.value.hint


def test_an_unknown_key_in_protect_is_refused():
    with pytest.raises(InputError) as err:
        _answers({"trustd": []})
    assert "protect.trustd: unknown key" in err.value.message and "trusted" in err.value.hint
