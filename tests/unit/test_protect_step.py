"""The protection step's rules (wizard.flow.steps, wizard.flow.protection), without a terminal:
where it sits, what it offers, what blocks Next and what only a recorded skip goes past."""

from __future__ import annotations

from wizard.answers import Answers, HostAnswers
from wizard.checks.base import CheckResult
from wizard.flow.policy import record_acceptance
from wizard.flow.protection import exposed, routed, untrusted
from wizard.flow.steps import (STEP_IDS, WizardState, back_blocked, gate, may_continue,
                               next_step, step)

ROUTED_UNTRUSTED = CheckResult(
    "path", "primary", "warn", "primary 10.0.1.2 -> secondary 10.0.2.2: routed, 2 hops "
    "(tracepath) via 10.0.1.1; 10.0.2.2 is in none of primary's subnets (10.0.1.0/24); "
    "failover traffic crosses networks not declared trusted (10.0.1.2, 10.0.1.1, 10.0.2.2)",
    "tunnel it")
ROUTED_TRUSTED = CheckResult(
    "path", "primary", "pass", "primary 10.0.1.2 -> secondary 10.0.2.2: routed, 2 hops "
    "(tracepath) via 10.0.1.1; every address on the path is in [protect] trusted")
ONE_SEGMENT = CheckResult(
    "path", "primary", "pass", "primary 10.0.1.2 -> secondary 10.0.1.3: one segment, 1 hop "
    "(tracepath); 10.0.1.3 is inside primary's subnet 10.0.1.0/24 (10.0.1.2/24)")
OMAPI_FROM_CLIENTS = CheckResult(
    "exposure", "the lab's client segment", "fail", "the lab's client segment -> primary "
    "OMAPI 10.0.1.2:7911: open; reachable from a client segment", "protect firewall")
OMAPI_FROM_ADMIN = CheckResult("exposure", "this host", "pass", "this host -> primary OMAPI "
                               "10.0.1.2:7911: open; an admin host")


def surveyed(*results, **kw) -> WizardState:
    return WizardState(Answers(HostAnswers("p"), HostAnswers("s")), apply_started=True,
                       apply_ok=True, protect_surveyed=True, protect_checks=results, **kw)


def keys(s: WizardState) -> list[str]:
    return [w.key for w in gate("protect", s).warnings]


def test_the_step_comes_after_the_drill_and_before_back_in_operation():
    assert STEP_IDS.index("drill") + 1 == STEP_IDS.index("protect")
    assert next_step("protect") == "done" and next_step("drill") == "protect"
    assert step("protect").guide == () and step("protect").label == "Protection"
    assert step("protect").short == "+" and step("drill").short == "9"
    # After the apply, Back would not undo the change: the same rule as the steps around it.
    assert back_blocked("protect", surveyed()) is not None


def test_next_waits_for_the_survey():
    s = WizardState(Answers(HostAnswers("p"), HostAnswers("s")))
    g = gate("protect", s)
    assert g.reasons and "not been checked" in g.reasons[0]
    assert not may_continue("protect", s)


def test_a_sheltered_pair_goes_on_without_anything_to_accept():
    s = surveyed(ONE_SEGMENT, OMAPI_FROM_ADMIN)
    assert gate("protect", s).warnings == () and may_continue("protect", s)
    assert not routed(s.protect_checks) and not untrusted(s.protect_checks)
    # Routed across declared-trusted networks: offered, but nothing to accept either.
    assert may_continue("protect", surveyed(ROUTED_TRUSTED, OMAPI_FROM_ADMIN))
    assert routed((ROUTED_TRUSTED,)) and not untrusted((ROUTED_TRUSTED,))


def test_exposure_and_an_untrusted_path_are_warnings_each_skipped_by_its_own_key():
    s = surveyed(ROUTED_UNTRUSTED, OMAPI_FROM_CLIENTS, OMAPI_FROM_ADMIN)
    assert keys(s) == ["protect-firewall", "protect-tunnel"]
    assert exposed(s.protect_checks) == (OMAPI_FROM_CLIENTS,)
    assert OMAPI_FROM_CLIENTS.detail in gate("protect", s).warnings[0].text
    assert not gate("protect", s).reasons           # never a hard block: protection is optional
    assert not may_continue("protect", s.with_(overrides=frozenset({"protect-firewall"})))
    assert may_continue("protect", s.with_(overrides=frozenset({"protect-firewall",
                                                                "protect-tunnel"})))


def test_applied_rules_take_the_firewall_warning_away_a_failed_apply_says_why():
    s = surveyed(ROUTED_UNTRUSTED, OMAPI_FROM_CLIENTS)
    assert keys(s.with_(firewall_ok=True)) == ["protect-tunnel"]
    failed = s.with_(firewall_ok=False, firewall_summary="verification failed, old rules "
                     "restored")
    assert "verification failed" in gate("protect", failed).warnings[0].text
    assert keys(s.with_(firewall_ok=True, tunnel_ok=True)) == []
    assert "no handshake" in gate("protect", s.with_(
        firewall_ok=True, tunnel_ok=False, tunnel_summary="no handshake")).warnings[0].text


def test_a_survey_that_could_not_run_is_a_warning_not_a_trap():
    s = surveyed(protect_error="cannot connect: primary: timed out")
    assert keys(s) == ["protect-firewall"] and "timed out" in gate("protect", s).warnings[0].text
    assert may_continue("protect", s.with_(overrides=frozenset({"protect-firewall"})))


def test_the_skip_is_recorded_as_an_override_like_every_accepted_warning():
    class Session:
        def __init__(self):
            self.events = []

        def event(self, step, kind, **data):
            self.events.append((step, kind, data))

    s = surveyed(ROUTED_UNTRUSTED, OMAPI_FROM_CLIENTS, firewall_ok=True)
    session = Session()
    record_acceptance(session, "protect", gate("protect", s), {"protect-tunnel"})
    assert session.events == [("protect", "override", {
        "accepted": ["protect-tunnel"], "warnings": [gate("protect", s).warnings[0].text]})]


def test_the_screens_admin_field_uses_the_answers_rules():
    from screens.protect import admin_error, headline, split_admin

    assert split_admin("192.0.2.10, 198.51.100.0/28 ") == ["192.0.2.10", "198.51.100.0/28"]
    assert admin_error("192.0.2.10, 198.51.100.0/28") is None and admin_error("") is None
    assert "not an IPv4 address" in admin_error("10.0.0.300")
    probes = [{"from": "wizard"}, {"from": "the lab's client segment (c)"}]
    assert headline("applied and verified (primary: persisted, secondary: runtime only): "
                    "wizard->primary:7911 OMAPI open (expected reach)", probes) == \
        "applied and verified (primary: persisted, secondary: runtime only)"
    assert headline("no probes here", probes) == "no probes here"
