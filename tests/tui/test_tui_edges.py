"""The newcomer's edges of the TUI: what the welcome names, what the review says and draws,
what step 4 and step 2 conclude from their probes, the wizard's commands in Ctrl+P, and a
layout that works at 80x24."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from rich.console import Console

from screens.app import WizardApp, why_not_go_to
from screens.review import DiffLines, what_changes
from tests.helpers.conf import planned_pair
from tests.helpers.tui import (AFTER, ANSWERS, FakeEngine, check_results, next_enabled,
                                    plain, until)
from wizard.answers import answers_from_dict
from wizard.checks.base import CheckResult
from wizard.checks.clock import ntp_verdict
from wizard.conf.plan import FilePlan, PairPlan
from wizard.facts import parse_output
from wizard.flow.steps import SkewVerdict, WizardState

SIZE = (120, 40)
SMALL = (80, 24)
DATA = Path(__file__).parents[1] / "data" / "facts"


def run(coro):
    return asyncio.run(coro)


def make_app(engine=None, start="welcome", answers=ANSWERS, **state):
    return WizardApp(engine=engine or FakeEngine(), start=start,
                     state=WizardState(answers, **state))


# -- welcome -------------------------------------------------------------------------------

def test_the_welcome_names_the_pair_the_loaded_answers_will_change():
    answers = answers_from_dict({
        "primary": {"host": "dhcp1.example.net", "user": "admin", "sudo": True},
        "secondary": {"host": "dhcp2.example.net", "port": 2222},
        "failover": {"name": "campus-pair"},
    }, source="/etc/dhcp-wizard/campus.toml")

    async def go():
        app = make_app(answers=answers)
        async with app.run_test(size=SIZE) as pilot:
            await pilot.pause()
            pair = plain(app.screen.query_one("#pair"))
            assert "/etc/dhcp-wizard/campus.toml" in pair
            assert "admin@dhcp1.example.net with sudo" in pair
            # No user in the answers: said where it will come from, not guessed.
            assert "dhcp2.example.net:2222" in pair and "~/.ssh/config" in pair
            assert 'failover peer "campus-pair"' in pair
            # Above the long explanation, where it is seen without scrolling.
            assert app.screen.query_one("#pair").region.y < \
                app.screen.query_one("#welcome-text").region.y
    run(go())


# -- review --------------------------------------------------------------------------------

LONG = ("--- a/etc/dhcp/dhcpd.conf\n+++ b/etc/dhcp/dhcpd.conf\n@@ -1,2 +1,3 @@\n"
        " subnet 198.51.100.0 netmask 255.255.255.0 {\n"
        "+\toption domain-name-servers 198.51.100.1, 198.51.100.2, 198.51.100.3;\n"
        "-\trange 198.51.100.100 198.51.100.199;\n")


def rows(diff: str, width: int) -> list[str]:
    console = Console(width=width, record=True, file=open("/dev/null", "w"))
    console.print(DiffLines(diff))
    return console.export_text().splitlines()


def test_a_wrapped_diff_line_keeps_its_marker_on_every_row():
    drawn = rows(LONG, 24)
    start = drawn.index(next(r for r in drawn if "option" in r))
    end = drawn.index(next(r for r in drawn if "198.51.100.3;" in r))
    assert end > start and all(r.startswith("+") for r in drawn[start:end + 1]), drawn
    start = drawn.index(next(r for r in drawn if "range" in r))
    assert all(r.startswith("-") for r in drawn[start:start + 2]), drawn
    # Context and headers are never marked as changes.
    assert rows(LONG, 40)[:2] == ["--- a/etc/dhcp/dhcpd.conf", "+++ b/etc/dhcp/dhcpd.conf"]
    assert next(r for r in drawn if "subnet" in r).startswith(" ")
    # Wide enough: one row per line, as the diff reads.
    assert len(rows(LONG, 120)) == len(LONG.splitlines())


def test_a_removed_line_that_reads_like_a_file_header_stays_a_removal():
    diff = "--- a/x\n+++ b/x\n@@ -1,2 +1 @@\n--- old banner\n keep;\n"
    from screens.review import diff_rows

    # The hunk's counts say it is still open: a removal, not the next file's header.
    assert list(diff_rows(diff))[3] == ("-", "-- old banner")
    assert rows(diff, 40)[3] == "--- old banner"


def test_an_mclt_only_change_is_said_in_words(tmp_path):
    _, first = planned_pair(tmp_path, "subnet 10.1.0.0 netmask 255.255.255.0 {\n"
                                      "\tpool {\n\t\trange 10.1.0.10 10.1.0.50;\n\t}\n}\n")
    assert "primary: enables OMAPI on port 7911 with key omapi_key" in what_changes(first)
    again = tmp_path / "again"
    again.mkdir()
    _, plan = planned_pair(again, first.main("primary").after, first.main("secondary").after,
                           failover="mclt = 1800\n")
    assert plan.changed and plan.notes == []                # the plan's notes say nothing
    assert what_changes(plan) == ['primary: failover peer "fo": mclt 3600 → 1800']


class MclTEngine(FakeEngine):
    """The pair already runs failover; the only change is the primary's mclt."""

    def plan(self, answers):
        secondary = AFTER.replace("\tmclt 3600;\n\tsplit 128;\n", "").replace("primary;",
                                                                               "secondary;")
        return PairPlan([FilePlan("primary", "/etc/dhcp/dhcpd.conf", AFTER,
                                  AFTER.replace("mclt 3600", "mclt 1800")),
                         FilePlan("secondary", "/etc/dhcp/dhcpd.conf", secondary, secondary)],
                        "c2VjcmV0c2VjcmV0c2VjcmV0", "found in both configs")


class SameEngine(FakeEngine):
    def plan(self, answers):
        return PairPlan([FilePlan(r, "/etc/dhcp/dhcpd.conf", AFTER, AFTER)
                         for r in ("primary", "secondary")],
                        "c2VjcmV0c2VjcmV0c2VjcmV0", "found in both configs")


def test_the_review_names_a_setting_only_change():
    async def go():
        app = make_app(engine=MclTEngine(), start="review")
        async with app.run_test(size=SIZE) as pilot:
            assert await until(pilot, lambda: app.screen.state.plan_ready)
            notes = plain(app.screen.query_one("#notes"))
            assert 'primary: failover peer "failover-partner": mclt 3600 → 1800' in notes
            assert "secondary" not in notes
    run(go())


def test_a_plan_without_change_says_one_true_thing():
    async def go():
        app = make_app(engine=SameEngine(), start="review")
        async with app.run_test(size=SIZE) as pilot:
            assert await until(pilot, lambda: app.screen.state.plan_ready)
            shown = plain(app.screen.query_one("#notes"))
            if app.screen.query_one("#consequences").display:
                shown += plain(app.screen.query_one("#consequences"))
            shown += str(app.screen.query_one("#confirm").label)
            assert "only checks" in shown and "restarts nothing" in shown
            assert "Applying restarts both" not in shown and "apply them now" not in shown
    run(go())


def test_a_plan_that_changes_still_warns_of_the_restart():
    async def go():
        app = make_app(start="review")
        async with app.run_test(size=SIZE) as pilot:
            assert await until(pilot, lambda: app.screen.state.plan_ready)
            assert app.screen.query_one("#consequences").display
            assert "restarts both" in plain(app.screen.query_one("#consequences"))
            notes = plain(app.screen.query_one("#notes"))
            assert 'primary: adds failover peer "failover-partner"' in notes
            assert "primary: 1 pool joins" in notes
    run(go())


# -- step 4 --------------------------------------------------------------------------------

def test_the_omapi_exposure_says_what_the_probe_table_says():
    async def go():
        app = make_app(start="elements")
        async with app.run_test(size=SIZE) as pilot:
            assert await until(pilot, lambda: app.screen.state.checked)
            matrix = plain(app.screen.query_one("#matrix"))
            exposure = plain(app.screen.query_one("#exposure"))
            assert "reachable" in matrix
            assert "not reachable" not in exposure and "reachable from here" in exposure
            assert "nothing listens yet" in exposure
    run(go())


def test_omapi_open_or_dropped_is_said_as_such():
    from screens.elements import exposure_text

    opened = CheckResult("port-omapi", "primary", "pass", "this host -> primary 1.2.3.4:7911: "
                         "open; ...", "OMAPI has no address ACL: limit tcp/7911")
    dropped = CheckResult("port-omapi", "secondary", "fail", "timed out", "allow it")
    text = exposure_text([opened, dropped], 7911)
    assert "primary: OMAPI already answers on tcp/7911" in text and "limit tcp/7911" in text
    assert "secondary: OMAPI is not reachable from here" in text


# -- step 2 --------------------------------------------------------------------------------

def test_ntp_on_its_own_local_clock_warns_that_the_peers_agree_only_with_each_other():
    lab = parse_output((DATA / "debian12-lab.txt").read_text())       # chrony, local stratum 8
    status, detail, fix = ntp_verdict("primary", lab.ntp)
    assert status == "warn" and "agree only with each other" in detail and "server" in fix
    for name in ("rhel9-systemd", "freebsd14"):                       # real upstreams
        assert ntp_verdict("primary", parse_output((DATA / f"{name}.txt").read_text()).ntp)[0] \
            == "pass", name
    unsynced = parse_output((DATA / "ubuntu2204-systemd.txt").read_text())
    assert ntp_verdict("primary", unsynced.ntp)[0] == "warn"


def test_ntpd_on_its_local_clock_driver_warns_too():
    text = (DATA / "freebsd14.txt").read_text().replace(
        "*192.0.2.123     .GPS.            1 u", "*127.127.1.0     .LOCL.          10 l")
    status, detail, _ = ntp_verdict("secondary", parse_output(text).ntp)
    assert status == "warn" and "no upstream" in detail


def test_the_clock_step_shows_the_warning_and_asks_for_an_override():
    class LocalNtp(FakeEngine):
        def check(self, answers, on_result=None):
            return [r if r.id != "ntp" else CheckResult(
                "ntp", r.host, *ntp_verdict(r.host, parse_output(
                    (DATA / "debian12-lab.txt").read_text()).ntp)) for r in check_results()]

    async def go():
        engine = LocalNtp()
        app = make_app(engine=engine, start="clock",
                       checks=tuple(engine.check(ANSWERS)), checked=True)
        async with app.run_test(size=SIZE) as pilot:
            assert await until(pilot, lambda: app.screen.state.skew is not None)
            assert "agree only with each other" in plain(app.screen.query_one("#ntp"))
            assert "agree only with each other" in plain(app.screen.query_one("#gate"))
            assert not next_enabled(app) and app.screen.query_one("#override").display
    run(go())


# -- the command palette -------------------------------------------------------------------

def commands(app) -> dict:
    return {c.title: c for c in app.get_system_commands(app.screen)}


def test_the_palette_has_the_wizards_commands_and_says_why_a_step_is_out_of_reach():
    async def go():
        app = make_app(start="servers")
        async with app.run_test(size=SIZE) as pilot:
            assert await until(pilot, lambda: app.screen.state.checked)
            found = commands(app)
            for title in ("Save answers", "Check the existing pair", "Open the report",
                          "Go to the welcome screen", "Go to step 2: Clocks"):
                assert title in found, sorted(found)
            assert found["Go to step 2: Clocks"].help.startswith("Jump")
            # Step 3 is behind step 2's gate: the clocks are not compared yet.
            assert found["Go to step 3: Networks and pools"].help == \
                "Not now: step 2. Clocks: the clocks have not been compared yet"
            assert "applied first" in found["Go to step 9: Failover test"].help
    run(go())


def test_going_to_a_step_from_the_palette():
    async def go():
        app = make_app(start="servers")
        async with app.run_test(size=SIZE) as pilot:
            assert await until(pilot, lambda: app.screen.state.checked)
            await pilot.press("ctrl+p")
            await pilot.pause()
            await pilot.press(*"Go to step 2")
            assert await until(pilot, lambda: "Go to step 2" in str(
                app.screen.query("CommandList").first().get_option_at_index(0).prompt))
            await pilot.press("enter")
            assert await until(pilot, lambda: type(app.screen).__name__ == "ClockScreen")
            assert await until(pilot, lambda: app.screen.state.skew is not None)
            # What step 1 learned came along, and the gate of step 1 was respected.
            assert app.screen.state.checked
            commands(app)["Go to step 1: Servers"].callback()
            assert await until(pilot, lambda: type(app.screen).__name__ == "ServersScreen")
            assert len(app.screen_stack) == 2        # the default screen and this one
            # Forward over two open gates at once, back to where it was.
            await pilot.pause()
            commands(app)["Go to step 3: Networks and pools"].callback()
            assert await until(pilot, lambda: type(app.screen).__name__ == "NetworksScreen")
    run(go())


def test_a_blocked_jump_is_refused_with_its_reason():
    async def go():
        app = make_app(start="servers")
        async with app.run_test(size=SIZE) as pilot:
            assert await until(pilot, lambda: app.screen.state.checked)
            commands(app)["Go to step 5: Failover settings"].callback()
            await pilot.pause()
            assert type(app.screen).__name__ == "ServersScreen"
            assert any("clocks have not been compared" in str(n.message)
                       for n in app._notifications)
    run(go())


def test_the_jump_rules():
    state = WizardState(ANSWERS, checked=True, hosts={"primary": 1, "secondary": 2},
                        skew=SkewVerdict("pass", 0.0, 0.0, "ntp", "fine"))
    assert why_not_go_to("clock", "servers", state) is None
    assert why_not_go_to("clock", "servers", state, running="measure").startswith("this step")
    assert why_not_go_to("servers", "networks", state) is None
    assert "Networks" in why_not_go_to("servers", "elements", state)
    warned = state.with_(checks=(CheckResult("ntp", "primary", "warn", "no upstream"),))
    assert "warnings are not accepted" in why_not_go_to("servers", "networks", warned)
    assert why_not_go_to("servers", "networks",
                         warned.with_(overrides=frozenset({"ntp"}))) is None
    # Apply is reached only with Next from the review; after it, Back's own rule holds.
    ready = state.with_(plan_ready=True, plan_confirmed=True)
    assert why_not_go_to("review", "apply", ready) is None
    assert "applied first" in why_not_go_to("settings", "apply", ready)
    applied = ready.with_(apply_started=True, apply_ok=True)
    assert "would not undo" in why_not_go_to("drill", "review", applied)
    assert why_not_go_to("check", "welcome", state) is None
    assert why_not_go_to("check", "servers", state) is not None


def test_the_palettes_quit_is_the_wizards_own():
    engine = FakeEngine()
    engine.hold = True

    async def go():
        app = make_app(engine=engine, start="apply", plan_ready=True, plan_confirmed=True)
        async with app.run_test(size=SIZE) as pilot:
            try:
                assert await until(pilot, lambda: app.screen.running == "apply")
                quits = [c for c in app.get_system_commands(app.screen) if c.title == "Quit"]
                assert len(quits) == 1
                quits[0].callback()
                assert await until(pilot, lambda: type(app.screen).__name__ == "ConfirmModal")
                assert app.return_code is None
            finally:
                engine.cancel.set()     # the held apply ends, or the app never exits
    run(go())


def test_open_the_report_says_where_it_is(tmp_path):
    async def go(session):
        engine = FakeEngine()
        engine.session_path = session
        app = make_app(engine=engine, start="settings")
        async with app.run_test(size=SIZE) as pilot:
            await pilot.pause()
            commands(app)["Open the report"].callback()
            assert await until(pilot, lambda: bool(app._notifications))
            return [str(n.message) for n in app._notifications]
    before = run(go(str(tmp_path)))
    assert any(str(tmp_path / "report.html") in m and "Step 10" in m for m in before), before
    (tmp_path / "report.html").write_text("<html></html>")
    (tmp_path / "report.md").write_text("# report")
    after = run(go(str(tmp_path)))
    assert any(str(tmp_path / "report.md") in m for m in after), after


# -- 80x24 ---------------------------------------------------------------------------------

def test_at_80x24_the_diffs_stack_and_the_footer_fits():
    async def go():
        app = make_app(start="review")
        async with app.run_test(size=SMALL) as pilot:
            assert await until(pilot, lambda: app.screen.state.plan_ready)
            await pilot.pause()
            assert app.screen.has_class("-narrow")
            assert app.screen.query_one("#indicator").outer_size.width <= 10
            p, s = (app.screen.query_one(f"#{r}-diff").parent for r in ("primary", "secondary"))
            assert p.region.x == s.region.x and p.region.width >= 60    # one above the other
            footer = app.screen.query_one("Footer")
            assert footer.max_scroll_x == 0, footer.virtual_size       # nothing cut off
            assert sum(k.outer_size.width for k in footer.query("FooterKey")) <= 80
    run(go())


def test_at_120_columns_the_frame_is_as_before():
    async def go():
        app = make_app(start="review")
        async with app.run_test(size=SIZE) as pilot:
            assert await until(pilot, lambda: app.screen.state.plan_ready)
            assert not app.screen.has_class("-narrow")
            p, s = (app.screen.query_one(f"#{r}-diff").parent for r in ("primary", "secondary"))
            assert p.region.y == s.region.y and p.region.x < s.region.x  # side by side
    run(go())


@pytest.mark.parametrize("step", ["welcome", "servers", "clock", "networks", "elements",
                                  "settings", "review", "check"])
def test_at_80x24_no_footer_key_is_cut(step):
    from tests.tui.test_tui_snapshots import STEPS

    async def go():
        app = make_app(start=step)
        async with app.run_test(size=SMALL) as pilot:
            await STEPS[step](pilot)
            footer = app.screen.query_one("Footer")
            assert footer.max_scroll_x == 0, [k.description for k in footer.query("FooterKey")]
    run(go())
