"""The wizard's flow (wizard.flow.steps): order, what blocks Next, overrides, Back after apply."""

from __future__ import annotations

from wizard.answers import Answers, HostAnswers
from wizard.checks.base import CheckResult
from wizard.flow.steps import (STEP_IDS, Network, SkewVerdict, WizardState, apply_settings,
                          back_blocked, field_error, gate, may_continue, mode_of, next_step,
                          previous_step, step)


def state(**kw) -> WizardState:
    return WizardState(Answers(HostAnswers("p"), HostAnswers("s")), **kw)


def passing_servers(**kw) -> WizardState:
    return state(checked=True, hosts={"primary": object(), "secondary": object()}, **kw)


def test_the_steps_follow_the_guide_in_order():
    assert STEP_IDS[0] == "welcome" and STEP_IDS[-1] == "done"
    numbers = [n for s in STEP_IDS for n in step(s).guide]
    assert numbers == list(range(1, 11))
    assert next_step("servers") == "clock" and previous_step("clock") == "servers"
    assert next_step("done") is None and previous_step("welcome") is None
    assert step("review").label == "6–7. Review the plan"


def test_servers_block_until_both_are_inspected():
    assert gate("servers", state()).reasons == ("connect to both servers and inspect them first",)
    assert may_continue("servers", passing_servers())


def test_a_failed_check_blocks_and_a_warning_needs_an_explicit_override():
    fail = CheckResult("version-parity", None, "fail", "primary runs 4.3.6, secondary 4.4.3")
    assert gate("servers", passing_servers(checks=(fail,))).reasons == (fail.detail,)
    warn = CheckResult("version-parity", None, "warn", "primary runs 4.4.2, secondary 4.4.3")
    s = passing_servers(checks=(warn,))
    assert [(w.key, w.text) for w in gate("servers", s).warnings] == [
        ("version-parity", warn.detail)]
    assert not may_continue("servers", s)
    assert may_continue("servers", s.with_(overrides=frozenset({"version-parity"})))
    # Accepting another warning does not count for this one.
    assert not may_continue("servers", s.with_(overrides=frozenset({"clock-skew", "servers"})))


def test_a_warning_that_is_only_a_note_never_blocks():
    left = CheckResult("leftovers", "primary", "warn", "a stray dhcpd.conf.new")
    s = passing_servers(checks=(left,))
    assert gate("servers", s).warnings == () and may_continue("servers", s)


def test_cancelled_checks_block_until_run_to_the_end():
    s = passing_servers(checks=(CheckResult("cancelled", None, "skip", "checks cancelled"),))
    assert gate("servers", s).reasons == ("checks cancelled",)


def test_checks_of_other_steps_do_not_block_this_one():
    port = CheckResult("port-failover", "primary", "fail", "timed out")
    s = passing_servers(checks=(port,))
    assert may_continue("servers", s)
    assert gate("elements", s).reasons == ("timed out",)


def test_clock_skew_past_the_limit_blocks_and_a_close_call_warns():
    assert not may_continue("clock", state())
    bad = SkewVerdict("fail", 90.2, 0.01, "ntp", "secondary is 90.2 s ahead")
    assert gate("clock", state(skew=bad)).reasons == ("secondary is 90.2 s ahead",)
    close = SkewVerdict("warn", 4.99, 0.05, "ssh", "too close to call")
    assert [w.text for w in gate("clock", state(skew=close)).warnings] == ["too close to call"]
    # The step's fresh reading replaces the checks' older one.
    old = CheckResult("clock-skew", None, "fail", "secondary is 61 s ahead")
    assert gate("clock", state(skew=close, checks=(old,))).reasons == ()
    assert may_continue("clock", state(skew=SkewVerdict("pass", 0.0, 0.0, "ntp", "fine")))


def test_networks_need_a_chosen_subnet_with_a_pool():
    nets = (Network("10.0.0.0/24", ("10.0.0.10-10.0.0.99",)), Network("10.0.1.0/24", ()))
    assert not may_continue("networks", state())
    assert may_continue("networks", state(networks=nets))          # absent pools = all
    s = state(networks=nets)
    only_empty = s.with_(answers=s.answers.with_changes("failover", pools=("10.0.1.0/24",)))
    assert "none of the chosen subnets has a pool" in gate("networks", only_empty).reasons[0]
    none = s.with_(answers=s.answers.with_changes("failover", pools=()))
    assert gate("networks", none).reasons == ("choose at least one subnet to put under failover",)


def test_an_unconfirmed_relay_blocks_until_confirmed():
    s = state(checked=True)
    s = s.with_(answers=s.answers.with_changes("relays", addresses=("10.1.0.1",)))
    assert [(w.key, w.text) for w in gate("elements", s).warnings] == [
        ("relay", "confirm that relay 10.1.0.1 forwards to both servers")]
    assert not may_continue("elements", s)
    # Accepted as `deploy --accept relay` would be, or confirmed on the screen.
    assert may_continue("elements", s.with_(overrides=frozenset({"relay"})))
    warned = s.with_(checks=(CheckResult("relay", "10.1.0.1", "warn", "cannot be checked"),))
    assert [w.text for w in gate("elements", warned).warnings] == ["cannot be checked"]
    s = warned.with_(answers=s.answers.with_changes("relays", confirmed=("10.1.0.1",)))
    assert may_continue("elements", s)


def test_a_relay_checked_over_ssh_blocks_until_read_and_fails_with_its_check():
    s = state(checked=True)
    s = s.with_(answers=s.answers.with_changes("relays", addresses=("10.1.0.1",),
                                               ssh=("10.1.0.1",)))
    assert gate("elements", s).reasons == (
        "probe again (Ctrl+R) to check relay 10.1.0.1 over SSH",)
    bad = CheckResult("relay", "10.1.0.1", "fail", "dhcrelay forwards to 198.51.100.11 only")
    assert "forwards to 198.51.100.11 only" in " ".join(gate("elements", s.with_(checks=(bad,))).reasons)
    good = CheckResult("relay", "10.1.0.1", "pass", "dhcrelay forwards to both")
    assert may_continue("elements", s.with_(checks=(good,)))


def test_review_needs_an_explicit_confirmation():
    assert not may_continue("review", state())
    assert not may_continue("review", state(plan_ready=True))
    assert may_continue("review", state(plan_ready=True, plan_confirmed=True))


def test_a_failed_apply_blocks_and_says_it_was_rolled_back():
    s = state(apply_started=True, apply_ok=False, apply_reason="secondary never connected",
              rolled_back=True)
    assert gate("apply", s).reasons == ("apply failed: secondary never connected (both servers "
                                        "were rolled back)",)
    assert may_continue("apply", state(apply_started=True, apply_ok=True))


def test_the_drill_may_be_skipped_only_by_an_explicit_override():
    assert [w.text for w in gate("drill", state()).warnings] == ["the failover test has not run"]
    assert not may_continue("drill", state())
    assert may_continue("drill", state(overrides=frozenset({"drill"})))
    assert may_continue("drill", state(drill_passed=True))


def test_back_is_refused_once_the_servers_changed():
    assert back_blocked("welcome", state())
    assert back_blocked("apply", state()) is None
    assert "already run the new configuration" in back_blocked("drill", state(apply_started=True))
    assert back_blocked("review", state(apply_started=True)) is None


def test_settings_fields_are_validated_with_the_answers_file_rules():
    assert field_error("split", "300").startswith("300 is outside 0..256")
    assert field_error("mclt", "0").startswith("0 is outside 1..86400 (use 1..86400")
    assert field_error("primary_port", "x") == "must be a whole number"
    assert "not a usable relationship name" in field_error("name", "a b")
    assert field_error("primary_address", "") is None      # blank: the SSH address is used
    assert field_error("mclt", "3600") is None


def test_settings_build_new_answers_or_name_the_bad_fields():
    a = state().answers
    new, errors = apply_settings(a, {"mclt": "1800", "split": "256", "name": "dhcp-pair"})
    assert errors == {} and new.failover.mclt == 1800 and new.failover.split == 256
    assert new.failover.name == "dhcp-pair" and a.failover.mclt == 3600   # old value kept
    same, errors = apply_settings(a, {"mclt": "-1", "split": "128"})
    assert same is a and set(errors) == {"mclt"}
    assert mode_of(128) == "load-balance" and mode_of(256) == "hot-standby"
    assert mode_of(200) == "custom"


def test_settings_take_split_or_hba_never_both():
    a = state().answers
    bitmap = ":".join(["ff"] * 16 + ["00"] * 16)
    with_hba, errors = apply_settings(a, {"hba": bitmap})
    assert errors == {} and with_hba.failover.hba == bitmap and with_hba.failover.split is None
    assert mode_of(with_hba.failover.split, with_hba.failover.hba) == "hba"
    back, errors = apply_settings(with_hba, {"split": "256"})
    assert errors == {} and back.failover.hba is None and back.failover.split == 256
    _same, errors = apply_settings(a, {"hba": "ff:00"})
    assert "32 hex bytes" in errors["hba"]
    _same, errors = apply_settings(a, {"hba": ""})
    assert errors == {"hba": "required"}


def test_back_is_allowed_again_after_a_rollback():
    s = state(apply_started=True, apply_ok=False, rolled_back=True, apply_reason="x")
    assert back_blocked("apply", s) is None
    assert back_blocked("apply", s.with_(rolled_back=False))
