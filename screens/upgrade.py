"""The rolling upgrade of a running pair, reached from "Check an existing pair" once the
check passes: the order (and why), an optional command, then peer by peer the flow that
`dhcp-wizard upgrade` runs (wizard.flow.upgrade), in a worker thread. Without a command each
peer's window is a pause (wizard.ops.upgrade.OperatorGate): the operator upgrades it while
the survivor's failover state and the clients it served are shown live."""

from __future__ import annotations

import threading

from rich.markup import escape
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import Button, Input, Static

from screens.base import StepScreen
from screens.check import grouped
from screens.drill import parse_state
from screens.upgrade_text import (STEP_NAMES, out_of_service, pair_left, quit_question,
                                  quit_words, versions_lines, window_prompt)
from screens.widgets import state_markup
from wizard.flow.upgrade import DEFAULT_ORDER, WHY_ORDER
from wizard.ops.upgrade import OperatorGate
from wizard.roles import OTHER, ROLES

UPGRADE = "upgrade"


class SurvivorSeen(Message):
    """A reading of the survivor (wizard.ops.survivor_watch.SurvivorReading), or an error."""

    def __init__(self, reading, error: str | None = None):
        super().__init__()
        self.reading, self.error = reading, error


class UpgradeScreen(StepScreen):
    STEP = UPGRADE
    NEXT_LABEL = "Quit"
    INTRO = ("One peer at a time: it is shut down gracefully over OMAPI, its partner serves "
             "every client (partner-down, proven with a real client), the peer is upgraded, "
             "checked (version, dhcpd -t, lint), brought back without an MCLT wait and "
             "restarted onto the new release; the pool rebalance is waited for before the "
             "next. A post-flight check with version parity ends it.")
    BINDINGS = [Binding("ctrl+r", "start", "Start"),
                Binding("q", "app.request_quit", "Quit", show=False)]

    def title_text(self) -> str:
        return "Rolling upgrade"

    def compose_body(self) -> ComposeResult:
        yield Static("", id="order")
        with Vertical(id="setup"):
            yield Button("Swap the order", id="swap", compact=True)
            yield Static("Command run on each peer in its window (empty: you upgrade it by "
                         "hand while the wizard waits)", classes="section")
            yield Input(placeholder="e.g. apt-get install -y isc-dhcp-server", id="command")
            yield Button("Start the rolling upgrade (Ctrl+R)", id="start", variant="primary",
                         compact=True)
        with Horizontal(classes="columns"):
            for role in ROLES:
                yield Static("", id=f"{role}-state", classes="panel")
        with Vertical(id="window", classes="panel"):
            yield Static("", id="window-text")
            yield Static("", id="survivor")
            with Horizontal(id="window-buttons"):
                yield Button("Continue", id="continue", variant="success")
                yield Button("Stop", id="stop", variant="error")
        yield Static("Steps", classes="section")
        yield Static("[dim]not started[/dim]", id="steps")
        yield Static("", id="outcome")
        yield Button("", id="resume", variant="warning", compact=True)
        yield Static("", id="postflight")

    def on_mount(self) -> None:
        super().on_mount()
        self.order: tuple[str, ...] = DEFAULT_ORDER
        self.states = {r: "normal" for r in ROLES}
        self.lines: list[str] = []
        self.t0 = 0.0
        self.gate = OperatorGate()
        self.out: str | None = None          # the peer out of service now
        self.outcome = None                  # the last run's wizard.flow.upgrade outcome
        self.quit_after = False
        self._watch_stop: threading.Event | None = None
        self.query_one("#window").display = False
        self.query_one("#resume").display = False
        self.show_order()
        self.show_states()

    # -- before the start ------------------------------------------------------------------
    def show_order(self, window: str = "") -> None:
        self.query_one("#order", Static).update(
            f"[b]Order:[/b] {' then '.join(self.order)}\n"
            f"[dim]{escape(WHY_ORDER.get(self.order, ''))}[/dim]"
            + (f"\n[b]Window:[/b] {escape(window)}" if window else ""))

    @on(Button.Pressed, "#swap")
    def _swap(self) -> None:
        if self.running or self.outcome is not None:
            return
        self.order = tuple(reversed(self.order))
        self.show_order()

    def refresh_gate(self) -> None:
        super().refresh_gate()
        # Never Back in the middle: the peer out of service would be left to the worker.
        if self.running:
            self.query_one("#back", Button).disabled = True

    @on(Button.Pressed, "#start")
    def action_start(self) -> None:
        if self.running or self.outcome is not None:
            return
        from screens.modals import ConfirmModal

        command = self.query_one("#command", Input).value.strip()
        how = (f"runs `{command}` on it" if command else
               "waits for you to upgrade it and press Continue")
        self.app.push_screen(ConfirmModal(
            "Rolling upgrade",
            f"Each peer in turn ({', '.join(self.order)}) is shut down gracefully; its "
            f"partner serves every client meanwhile; the wizard {escape(how)}, checks the "
            "new dhcpd against its config, brings it back and restarts it onto the new "
            "release. Go on?", yes="Start", no="Not now"),
            lambda yes: yes and self._start(command or None))

    def _start(self, command: str | None, resume: str | None = None) -> None:
        # What was chosen stays said (#order, the steps); the choosing is over.
        self.query_one("#setup").display = False
        self.show_order(f"runs `{command}` on the peer (detached, under the guard)" if command
                        else "a pause: you upgrade the peer, then press Continue")
        self.query_one("#command", Input).disabled = True
        self.query_one("#resume").display = False
        self.query_one("#postflight", Static).update("")
        self.outcome = None
        self.out = resume                   # resuming: that peer is out from the start
        if not self.lines:
            self.t0 = self.app.engine.now()
        self.gate = OperatorGate()
        engine, gate, answers, order = self.app.engine, self.gate, self.state.answers, self.order

        def body():
            gate.cancel = engine.cancel     # the worker's own token (run_work set it)
            return engine.upgrade(answers, order, command=command, operator_done=gate,
                                  resume=resume)
        engine.sink = self.progress_sink
        self.run_work("upgrade", "rolling upgrade running…", body, done=self.done_upgrade,
                      failed=self.failed_upgrade)

    # -- while it runs ---------------------------------------------------------------------
    def on_progress(self, message) -> None:
        step, text = message.step, message.text
        if step == "state":
            parsed = parse_state(text)
            if parsed:
                self.states[parsed[0]] = parsed[1]
                self.show_states()
            return
        role = out_of_service(step, text)
        if role is not None and self._watch_stop is None:
            self.window_opened(role, manual="upgrade it now" in text)
        elif step.startswith(("window-", "verify-")):
            self.window_closed()
        elif step.startswith("shutdown-") and text.startswith("ok: "):
            self.out = step.removeprefix("shutdown-")       # out before its window opens
        elif step.startswith("recover-") and text.startswith("ok: "):
            self.out = None
            self.query_one("#window").display = False
        stamp = f"+{self.app.engine.now() - self.t0:5.1f}s"
        mark = ("[green]✔[/]" if text.startswith("ok: ") else
                "[red]✘[/]" if text.startswith("FAILED") else "[cyan]…[/]")
        label = STEP_NAMES.get(step, step)
        self.lines.append(f"[dim]{stamp}[/dim] {mark} {escape(label)}\n      "
                          f"[dim]{escape(text.removeprefix('ok: '))}[/dim]")
        self.query_one("#steps", Static).update("\n".join(self.lines[-40:]))

    def window_opened(self, role: str, manual: bool) -> None:
        self.out = role
        host = self.state.answers.host(role).host or role
        self.query_one("#window").display = True
        self.query_one("#window-text", Static).update(
            f"[b]{escape(window_prompt(role, host))}[/b]" if manual else
            f"[b]{role} ({escape(host)}) is out of service; the command runs on it.[/b] "
            f"{OTHER[role]} serves every client alone meanwhile.")
        self.query_one("#window-buttons").display = manual
        self.query_one("#continue", Button).disabled = False
        self.query_one("#stop", Button).disabled = False
        self.query_one("#survivor", Static).update(f"[dim]reading {OTHER[role]}…[/dim]")
        self._watch_stop = threading.Event()
        self._watch(OTHER[role], self._watch_stop)
        self.query_one("#window").scroll_visible()
        if manual:
            self.query_one("#continue", Button).focus()

    def window_closed(self) -> None:
        if self._watch_stop is not None:
            self._watch_stop.set()
            self._watch_stop = None
        self.query_one("#window-buttons").display = False

    @work(thread=True, group="survivor", exit_on_error=False)
    def _watch(self, survivor: str, stop: threading.Event) -> None:
        """Poll the survivor every second until the window ends (a thread: SSH and OMAPI)."""
        try:
            watch = self.app.engine.survivor_watch(self.state.answers, survivor)
            watch.begin()
        except Exception as exc:  # noqa: BLE001 - shown, the upgrade goes on without it
            self.post_message(SurvivorSeen(None, f"{survivor} cannot be watched: {exc}"))
            return
        last, seen = None, []
        while not stop.is_set():
            try:
                last = watch.poll()
                if last.state and last.state not in seen:
                    seen.append(last.state)
                self.post_message(SurvivorSeen(last))
            except Exception as exc:  # noqa: BLE001 - one failed reading; try again
                self.post_message(SurvivorSeen(None, str(exc)))
            stop.wait(1.0)
        if last is not None:
            # What the survivor did while it served alone, in the evidence with the rest.
            self.app.engine.record(UPGRADE, "survivor", host=survivor, states=seen,
                                   leases=last.acks,
                                   clients=last.clients, seconds=round(last.seconds, 1),
                                   source=f"lease file {watch.lease_path}")

    def on_survivor_seen(self, message: SurvivorSeen) -> None:
        if message.reading is None:
            self.query_one("#survivor", Static).update(f"[yellow]{escape(message.error)}[/]")
            return
        r = message.reading
        colour = "green" if r.state == "partner-down" else "yellow"
        self.states[r.role] = r.state or self.states[r.role]
        self.show_states()
        self.query_one("#survivor", Static).update(
            f"[{colour}]{escape(r.line())}[/]\n[dim]live: OMAPI state, and the leases "
            f"{r.role} wrote to its lease file since the window began (each one an ACK "
            "it gave)[/dim]")

    @on(Button.Pressed, "#continue")
    def _continue(self) -> None:
        self._answer(True, "checking it and bringing it back…")

    @on(Button.Pressed, "#stop")
    def _stop(self) -> None:
        self._answer(False, f"stopping: {self.out} stays out of service, "
                            f"{OTHER.get(self.out or '', 'its partner')} keeps serving…")

    def _answer(self, go_on: bool, note: str) -> None:
        if self.gate.waiting_for is None:
            self.app.bell()
            return
        self.query_one("#continue", Button).disabled = True
        self.query_one("#stop", Button).disabled = True
        self.query_one("#window-text", Static).update(f"[cyan]{escape(note)}[/]")
        self.gate.done(go_on)

    def show_states(self) -> None:
        for role in ROLES:
            self.query_one(f"#{role}-state", Static).update(state_markup(
                role, self.states[role], self.state.answers.host(role).host or ""))

    # -- the end ---------------------------------------------------------------------------
    def done_upgrade(self, run) -> None:
        self.window_closed()
        self.query_one("#window").display = False
        self.out = None
        outcome = self.outcome = run.outcome
        colour, mark = (("green", "✔") if run.post is not None and run.post.ok else
                        ("yellow", "▲") if outcome.ok and run.post is None else ("red", "✘"))
        text = [f"[{colour}]{mark} {escape(outcome.summary)}[/]",
                *(f"  {escape(v)}" for v in versions_lines(outcome)),
                f"[b]The pair now:[/b] {escape(pair_left(outcome))}"]
        if outcome.advice:
            text.append("[b]What to do:[/b]")
            text += [f"  - {escape(a)}" for a in outcome.advice]
        if outcome.left_out:
            text.append(f"  - Or press Resume below: {outcome.left_out} is checked again and "
                        "brought back, then the upgrade goes on.")
            resume = self.query_one("#resume", Button)
            resume.label = f"Resume: check {outcome.left_out}, bring it back, go on"
            resume.display = True
        self.query_one("#outcome", Static).update("\n".join(text))
        if run.post is not None:
            verdict = ("[green]✔ post-flight check clean:[/] " if run.post.ok else
                       "[red]✘ post-flight check not clean:[/] ")
            self.query_one("#postflight", Static).update(
                f"{verdict}{escape(run.post.parity)}\n{grouped(run.post.results)}")
        self.app.engine.record(UPGRADE, "tui-result", ok=outcome.ok,
                               post_flight=run.post.ok if run.post else None,
                               left_out=outcome.left_out)
        if self.quit_after:
            self.app.exit(0 if outcome.ok else 1, message=self.final_words())

    def failed_upgrade(self, error) -> bool:
        self.window_closed()
        self.query_one("#window").display = False
        self.out = None
        self.query_one("#setup").display = True
        self.query_one("#command", Input).disabled = False
        if self.quit_after:
            self.app.exit(1, message=Text(
                f"dhcp-wizard upgrade: stopped by an error ({error}); `dhcp-wizard check "
                f"--answers {self.state.answers.source or 'FILE'}` shows where the pair "
                "stands."))
        return False

    @on(Button.Pressed, "#resume")
    def _resume(self) -> None:
        if self.running or self.outcome is None or not self.outcome.left_out:
            return
        command = self.query_one("#command", Input).value.strip() or None
        self._start(command, resume=self.outcome.left_out)

    def final_words(self) -> Text:
        """Printed as the app exits (plain text: no markup read into it)."""
        return Text(quit_words(self.outcome, self.state.answers.source or "FILE")
                    if self.outcome is not None else "")

    # -- quitting (the app asks the screen; wizard/screens/app.py) --------------------------
    def quit_requested(self) -> bool:
        """Ctrl+Q / Ctrl+C / q: True when the screen handles it (a question first)."""
        from screens.modals import ChoiceModal, ConfirmModal

        if self.running == "upgrade":
            waiting = self.gate.waiting_for is not None
            choices = {"restore": "Bring back, quit" if self.out else "Stop, quit"}
            if waiting:
                choices["leave"] = "Leave out, quit"
            choices["stay"] = "Keep going"
            self.app.push_screen(ChoiceModal("The rolling upgrade is running",
                                             quit_question(self.out, waiting), choices),
                                 self._quit_choice)
            return True
        if self.outcome is not None and self.outcome.left_out:
            self.app.push_screen(ConfirmModal(
                "A peer is out of service",
                escape(pair_left(self.outcome)) + " It stays so after you quit; the wizard "
                "prints how to bring it back. Quit?", yes="Quit", no="Stay"),
                lambda yes: yes and self.app.exit(1, message=self.final_words()))
            return True
        return False

    def _quit_choice(self, value: str | None) -> None:
        if value in ("restore", "leave") and self.running == "upgrade":
            self.quit_after = True
            self.app.end_status = "cancelled"
            if value == "leave" and self.gate.waiting_for is not None:
                self.gate.done(False)
                self.notify(f"Leaving {self.out} out of service; the wizard quits once it "
                            "has said how to resume.", timeout=10)
            else:
                self.token.cancel("cancelled: the operator quit during the upgrade")
                self.notify("Putting the pair back into operation; the wizard quits when "
                            "both are normal.", timeout=10)

    def interrupted(self, name: str, signum: int) -> bool:
        """SIGTERM/SIGHUP while it runs: as the drill, put the peer back, then quit."""
        if self.running != "upgrade":
            return False
        self.quit_after = True
        self.token.cancel(f"interrupted by {name}", "interrupted", signum)
        return True

    def on_unmount(self) -> None:
        # The screen gone with a worker still on (the app failed, or exited some other way):
        # the pause must not wait for ever, holding the process and the peer's guard alive.
        # As a drill's cancel: the peer out of service is checked and put back.
        if self.running == "upgrade":
            self.token.cancel("cancelled: the upgrade screen closed")
        if self._watch_stop is not None:
            self._watch_stop.set()

    def action_next(self) -> None:
        if not self.running and self.quit_requested():
            return
        super().action_next()
