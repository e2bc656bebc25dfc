"""OMAPI client and state watcher: pure decoding, then against a real failover pair.

Against the real lab; the pure part is in tests/unit/."""

from __future__ import annotations

import base64
import secrets

import pytest

from tests.helpers.failover import RELATIONSHIP, FailoverPair, wait_normal
from wizard.lab.client import lease
from wizard.lab import namespaces as ns
from wizard.ops.omapi import OmapiAuthError, OmapiClient, OmapiTimeout, OmapiUnknownRelationship, OmapiUnreachable, read_states
from wizard.ops.statewatch import both, roles_in, wait_for


@pytest.fixture(scope="module")
def pair(lab, lab_spec):
    p = FailoverPair(lab_spec)
    p.start()
    try:
        assert wait_normal(p).ok, "the hand-written failover pair never reached normal"
        yield p
    finally:
        p.stop()


@pytest.mark.lab
def test_reads_both_peers_normal_with_their_roles(pair):
    states = read_states(pair.endpoints(), "omapi_key", pair.secret, RELATIONSHIP)
    assert states["primary"].state.role == "primary"
    assert states["secondary"].state.role == "secondary"
    for s in states.values():
        assert (s.state.local_state, s.state.partner_state) == ("normal", "normal")
        assert s.state.max_response_delay == 15


@pytest.mark.lab
def test_each_failure_has_its_own_plain_message(pair, lab_spec):
    host = lab_spec.address("primary")
    wrong = base64.b64encode(secrets.token_bytes(64)).decode()
    with pytest.raises(OmapiAuthError, match="refused our key"):
        with OmapiClient(host, 7911, "omapi_key", wrong, timeout=2) as c:
            c.failover_state(RELATIONSHIP)
    with pytest.raises(OmapiAuthError):
        with OmapiClient(host, 7911, "not_the_key", pair.secret, timeout=2) as c:
            c.failover_state(RELATIONSHIP)
    with pytest.raises(OmapiUnreachable, match="connection refused"):
        OmapiClient(host, 7912, "omapi_key", pair.secret, timeout=2)
    with OmapiClient(host, 7911, "omapi_key", pair.secret, timeout=2) as c:
        with pytest.raises(OmapiUnknownRelationship, match="'no-such-pair'"):
            c.failover_state("no-such-pair")
    rule = ["nft", "add", "table", "inet", "dhwtest"]
    ns.run(ns.host_command(lab_spec, "primary", rule))
    try:
        ns.run(ns.host_command(lab_spec, "primary", [
            "nft", "add chain inet dhwtest input { type filter hook input priority 0; }"]))
        ns.run(ns.host_command(lab_spec, "primary", [
            "nft", "add rule inet dhwtest input tcp dport 7911 drop"]))
        with pytest.raises(OmapiTimeout, match="no answer within 1 s"):
            OmapiClient(host, 7911, "omapi_key", pair.secret, timeout=1)
    finally:
        ns.run(ns.host_command(lab_spec, "primary", ["nft", "delete", "table", "inet", "dhwtest"]))


@pytest.mark.lab
def test_graceful_shutdown_partner_down_service_and_recovery(pair, lab_spec):
    reader = lambda: read_states(pair.endpoints(), "omapi_key", pair.secret, RELATIONSHIP)  # noqa: E731
    with OmapiClient(lab_spec.address("primary"), 7911, "omapi_key", pair.secret) as c:
        c.set_local_state(RELATIONSHIP, "shutdown")
    down = wait_for(reader, roles_in(primary="shutdown", secondary="partner-down"), timeout=20)
    assert down.ok, down.states()
    got = lease(lab_spec, new_client=True, timeout=15)
    assert got.server == lab_spec.address("secondary")  # only the survivor can have answered
    with OmapiClient(lab_spec.address("primary"), 7911, "omapi_key", pair.secret) as c:
        c.set_local_state(RELATIONSHIP, "recover")
    back = wait_for(reader, both("normal"), timeout=90)
    assert back.ok, back.states()
    assert any(t.after == "recover-wait" or t.after == "recover" for t in back.timeline)
