"""Sessions that plan more than once (the TUI's Review -> Back -> change -> Review) stay
verifiable: each plan keeps its own artifacts, and the report says which one was applied."""

from __future__ import annotations

import pytest

from tests.helpers.conf import answers
from wizard.conf.plan import FilePlan, PairPlan, plan_pair
from wizard.record.evidence import report, verify
from wizard.record.session import Session, read_events

CONF = ("subnet 198.51.100.0 netmask 255.255.255.0 {\n"
        "  pool {\n    range 198.51.100.100 198.51.100.199;\n  }\n}\n")


def two_plans_then_apply(tmp_path, *, close: bool = True):
    """What the TUI records on Review (mclt 3600) -> Back -> mclt 1800 -> Review -> Apply."""
    (tmp_path / "p.conf").write_text(CONF)
    (tmp_path / "s.conf").write_text(CONF)
    s = Session.create(tmp_path / "session", command="tui")
    plans = []
    for mclt in (3600, 1800):
        ans = answers(tmp_path, failover=f"mclt = {mclt}")
        plans.append(plan_pair(ans, str(tmp_path / "p.conf"), str(tmp_path / "s.conf")))
        plans[-1].record(s)
    s.event("review", "confirmed", changed=True)
    for kind in ("prepared", "committed"):
        s.event("apply", kind)
    if close:
        s.close()
    return tmp_path / "session", plans


def test_back_and_change_keeps_each_plan_as_its_own_verified_artifact(tmp_path):
    session, plans = two_plans_then_apply(tmp_path)
    _events, problems = verify(session)
    assert problems == []
    art = session / "artifacts"
    assert "mclt 3600;" in (art / "plan1-primary.after.conf").read_text()
    assert "mclt 1800;" in (art / "plan2-primary.after.conf").read_text()
    assert len(list(art.iterdir())) == 8
    on_disk = (session / "events.jsonl").read_text() + "".join(
        p.read_text() for p in art.iterdir())
    assert all(p.secret not in on_disk for p in plans)


def test_the_report_groups_the_files_by_plan_and_names_the_one_applied(tmp_path):
    session, _plans = two_plans_then_apply(tmp_path)
    md = (session / "report.md").read_text()
    assert "complete and untampered" in md
    assert "| plans | plan 1: not applied; plan 2: applied (committed" in md
    first, second = md.split("## Plan 1 of 2: not applied")[1].split("## Plan 2 of 2: applied")
    assert first.count("| plan1-") == 4 and "plan2-" not in first
    assert second.split("\n## ")[0].count("| plan2-") == 4
    assert "<h2>Plan 2 of 2: applied (committed" in (session / "report.html").read_text()


def test_a_tampered_or_missing_artifact_of_either_plan_is_still_caught(tmp_path):
    session, _plans = two_plans_then_apply(tmp_path)
    art = session / "artifacts"
    (art / "plan1-secondary.before.conf").unlink()
    (art / "plan2-primary.after.conf").write_text("subnet 203.0.113.0 netmask 255.255.255.0 {}\n")
    _events, problems = verify(session)
    assert problems == ["artifact plan1-secondary.before.conf is missing",
                        "artifact plan2-primary.after.conf does not match the sha256 "
                        "recorded for it"]


def test_an_artifact_name_is_never_written_twice(tmp_path):
    s = Session.create(tmp_path / "s", command="test")
    first = s.artifact("primary.after.conf", "one\n", step="plan", host="primary")
    with pytest.raises(ValueError, match="already in this session"):
        s.artifact("primary.after.conf", "two\n", step="plan", host="primary")
    s.close()
    assert first.read_text() == "one\n"
    events, problems = verify(tmp_path / "s")
    assert problems == [] and sum(e["kind"] == "artifact" for e in events) == 1


def test_a_reopened_session_numbers_its_next_plan_after_the_recorded_ones(tmp_path):
    session, _plans = two_plans_then_apply(tmp_path)
    again = Session.create(session, command="plan")
    ans = answers(tmp_path)
    assert plan_pair(ans, str(tmp_path / "p.conf"), str(tmp_path / "s.conf")).record(again) == 3
    again.close()
    assert verify(session)[1] == []
    assert "## Plan 3 of 3: not applied" in (session / "report.md").read_text()


def test_includes_sharing_a_file_name_get_an_artifact_each(tmp_path):
    files = [FilePlan("primary", "/etc/dhcp/dhcpd.conf", "a\n", "b\n"),
             FilePlan("primary", "/etc/dhcp/east/pools.conf", "east\n", "east 2\n"),
             FilePlan("primary", "/etc/dhcp/west/pools.conf", "west\n", "west 2\n")]
    s = Session.create(tmp_path / "s", command="plan")
    PairPlan(files, "c2VjcmV0LXNlY3JldC1zZWNyZXQ=", "given").record(s)
    s.close()
    arts = {e["data"]["path"]: e["data"]["name"] for e in read_events(tmp_path / "s")
            if e["kind"] == "artifact" and e["data"]["name"].endswith(".after.conf")}
    assert len(set(arts.values())) == 3
    assert (tmp_path / "s" / "artifacts" / arts["/etc/dhcp/west/pools.conf"]).read_text() == \
        "west 2\n"
    assert verify(tmp_path / "s")[1] == []


def test_a_cut_off_session_is_reported_as_such_never_as_done(tmp_path):
    session, _plans = two_plans_then_apply(tmp_path, close=False)
    _events, problems = verify(session)
    assert any("has no end" in p for p in problems)
    md, _html = report(session)
    text = md.read_text()
    assert "| status | incomplete |" in text and "| ended | never (interrupted" in text
    assert "| status | done |" not in text


def test_a_session_reopened_then_cut_off_is_not_done_by_its_first_end(tmp_path):
    Session.create(tmp_path / "s", command="plan").close()
    Session.create(tmp_path / "s", command="deploy").event("apply", "prepared")
    _events, problems = verify(tmp_path / "s")
    assert any("has no end" in p for p in problems)
    md, _html = report(tmp_path / "s")
    assert "| status | incomplete |" in md.read_text()


def test_a_report_written_while_open_says_so_and_the_end_rewrites_it(tmp_path):
    session, _plans = two_plans_then_apply(tmp_path, close=False)
    s = Session(session)
    md, html = s.report()
    text = md.read_text()
    assert "PROBLEMS" not in text and "untampered so far" in text
    assert "| status | in progress |" in text and html.is_file()
    s.close()
    text = md.read_text()
    assert "complete and untampered" in text and "| status | done |" in text
    assert verify(session)[1] == []


def test_a_rolled_back_apply_then_a_new_plan_applied_says_what_became_of_each(tmp_path):
    """Apply rolled back -> Back -> Review plans again -> Apply commits."""
    (tmp_path / "p.conf").write_text(CONF)
    (tmp_path / "s.conf").write_text(CONF)
    s = Session.create(tmp_path / "session", command="tui")
    for mclt, outcome in ((3600, "rolled-back"), (900, "committed")):
        ans = answers(tmp_path, failover=f"mclt = {mclt}")
        plan_pair(ans, str(tmp_path / "p.conf"), str(tmp_path / "s.conf")).record(s)
        s.event("apply", "prepared")
        s.event("apply", outcome)
    s.close()
    assert verify(tmp_path / "session")[1] == []
    md = (tmp_path / "session" / "report.md").read_text()
    assert ("| plans | plan 1: applied, then rolled back; plan 2: applied (committed" in md)
