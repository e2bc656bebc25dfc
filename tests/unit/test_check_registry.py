"""The check registry is the one place that says which step shows a check and what its outcomes
mean for going on: every id the checks can emit is in it, once, with a real step, and each
step's screen really shows every result the registry gives it."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import pytest
from textual.widgets import Static

from screens.app import WizardApp
from tests.helpers.tui import ANSWERS, FakeEngine, host_info, plain, until
from wizard.checks.base import CheckResult
from wizard.checks.registry import CHECKS, ids_of, steps_with_checks
from wizard.flow.policy import judge
from wizard.flow.steps import STEP_IDS, SkewVerdict, WizardState

CHECK_SOURCES = sorted((Path(__file__).parents[2] / "wizard" / "checks").glob("*.py"))
# add("id", ...) as run.add and the relay check's `add` callback write it, and guarded("id").
EMITTED = re.compile(r"""\b(?:add|guarded)\(\s*["']([a-z][a-z-]*)["']""")


def emitted_ids() -> set[str]:
    return {m for p in CHECK_SOURCES for m in EMITTED.findall(p.read_text())}


def test_every_id_is_declared_once_for_one_real_step():
    ids = [c.id for c in CHECKS]
    assert len(ids) == len(set(ids))
    assert all(c.step in STEP_IDS for c in CHECKS)


def test_every_id_the_checks_emit_is_declared_and_every_declared_id_is_emitted():
    emitted = emitted_ids()
    assert emitted, "the pattern found no check ids: it no longer matches the checks' code"
    assert emitted == {c.id for c in CHECKS}


def test_an_undeclared_id_or_a_warning_from_a_check_that_never_warns_is_refused():
    from wizard.checks.base import Run

    run = Run(None, None, None, None)
    with pytest.raises(KeyError):
        run.add("port-failver", "primary", "fail", "typo")
    with pytest.raises(ValueError):
        run.add("ssh", "primary", "warn", "ssh never warns: its rule would be undefined")


def test_the_cli_and_the_wizard_judge_the_same_results_alike():
    """deploy judges all results at once; the wizard step by step: the union is the same."""
    results = [CheckResult("config-lint", None, "fail", "pools differ"),
               CheckResult("peer-address", "primary", "fail", "no such address"),
               CheckResult("ntp", "secondary", "warn", "no upstream"),
               CheckResult("relay", "10.1.0.1", "warn", "cannot be checked"),
               CheckResult("leftovers", "primary", "warn", "a stray .new file")]
    whole = judge(results)
    per_step = [judge(results, step) for step in steps_with_checks()]
    assert sorted(whole.reasons) == sorted(r for g in per_step for r in g.reasons)
    assert sorted(whole.keys) == sorted(k for g in per_step for k in g.keys) == ["ntp", "relay"]


def _token(check_id: str) -> str:
    return "T" + check_id.replace("-", "")


def _result(spec) -> CheckResult:
    status = "skip" if spec.id == "cancelled" else "pass"
    host = {"relay": "10.1.0.1"}.get(spec.id, "primary")
    # "where: said" is how the probe table splits a port result into its columns.
    return CheckResult(spec.id, host, status, f"{host} -> x: {_token(spec.id)}")


class HeldClock(FakeEngine):
    """The clock step measures on arrival; held, its screen shows what the checks said."""

    def __init__(self):
        super().__init__()
        import threading

        self.release = threading.Event()

    def measure_clock(self, answers):
        self.release.wait(30)
        return super().measure_clock(answers)


def _shown_text(screen) -> str:
    return "\n".join(plain(w) for w in screen.query(Static) if w.id != "gate")


@pytest.mark.parametrize("step", steps_with_checks())
def test_each_step_screen_shows_every_result_the_registry_gives_it(step):
    results = tuple(_result(c) for c in CHECKS)
    answers = ANSWERS.with_changes("relays", addresses=("10.1.0.1",))
    hosts = {r: host_info(r, a) for r, a in (("primary", "198.51.100.11"),
                                             ("secondary", "198.51.100.12"))}
    state = WizardState(answers, checks=results, checked=True, hosts=hosts,
                        skew=None if step == "clock" else SkewVerdict("pass", 0, 0, "ntp", "ok"))
    engine = HeldClock()

    async def go():
        app = WizardApp(engine=engine, start=step, state=state)
        async with app.run_test(size=(160, 60)) as pilot:
            assert await until(pilot, lambda: type(app.screen).__name__ != "WelcomeScreen")

            def shown() -> bool:
                text = _shown_text(app.screen)
                return all(_token(i) in text for i in ids_of(step))
            if not await until(pilot, shown):
                text = _shown_text(app.screen)
                missing = [i for i in ids_of(step) if _token(i) not in text]
                raise AssertionError(f"{step}: not shown {missing}; the screen says:\n{text}")
            engine.release.set()

    try:
        asyncio.run(go())
    finally:
        engine.release.set()
