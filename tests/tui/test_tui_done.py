"""Step 10 writes the session's report at once and names both files by their full paths."""

from __future__ import annotations

import asyncio

from screens.app import WizardApp
from tests.helpers.tui import ANSWERS, FakeEngine, plain, until
from wizard.record.session import Session
from wizard.flow.steps import WizardState

SIZE = (120, 40)


def at_done(engine) -> WizardApp:
    return WizardApp(engine=engine, start="done",
                     state=WizardState(ANSWERS, apply_ok=True, drill_summary="drill passed"))


def record_on_step_10(engine) -> str:
    async def go():
        app = at_done(engine)
        async with app.run_test(size=SIZE) as pilot:
            assert await until(pilot, lambda: "normal" in plain(app.screen.query_one("#final")))
            return plain(app.screen.query_one("#record"))
    return asyncio.run(go())


def test_step_10_writes_the_report_before_finish_and_names_both_files(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    session = Session.create("relative-session", command="tui")   # as `--session DIR` may be
    engine = FakeEngine()
    engine.session, engine.session_path = session, str(session.path)
    record = record_on_step_10(engine)
    where = tmp_path / "relative-session"
    assert f"Session record: {where}" in record
    assert f"Report: {where / 'report.html'}" in record and str(where / "report.md") in record
    md = (where / "report.md").read_text()
    assert "| status | in progress |" in md and "PROBLEMS" not in md
    assert (where / "report.html").is_file()
    session.close()
    assert "| status | done |" in (where / "report.md").read_text()


def test_a_report_that_cannot_be_written_is_said_with_how_to_write_it_later():
    engine = FakeEngine()

    def full():
        raise OSError(28, "No space left on device")
    engine.session.report = full
    record = record_on_step_10(engine)
    assert "the report could not be written" in record and "No space left on device" in record
    assert f"dhcp-wizard report {engine.session_path}" in record
    assert f"Session record: {engine.session_path}" in record
