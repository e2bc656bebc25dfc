"""Step 8: apply both configs as one transaction, live per host, until both are normal."""

from __future__ import annotations

from rich.markup import escape
from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Button, Static

from screens.base import StepScreen
from wizard.roles import ROLES

PHASES = (("validated", "test the new config (dhcpd -t)"),
          ("backed-up", "back up config and lease file"),
          ("switched", "switch to the new config"),
          ("restarted", "restart dhcpd"))


class ApplyScreen(StepScreen):
    STEP = "apply"
    INTRO = ("Both servers are changed together. If a step fails, a server does not reach "
             "normal, or you cancel, both are rolled back to the configuration they ran before.")

    def compose_body(self) -> ComposeResult:
        with Horizontal(classes="columns"):
            for role in ROLES:
                yield Static("", id=f"{role}-phases", classes="panel")
        yield Button("Cancel and roll back (Esc)", id="cancel", variant="error", compact=True)
        yield Static("Failover states", classes="section")
        yield Static("[dim]waiting for the restart…[/dim]", id="timeline")
        yield Static("", id="outcome")

    def on_mount(self) -> None:
        super().on_mount()
        self.done_phases: dict[str, dict[str, str]] = {r: {} for r in ROLES}
        self.notes: dict[str, list[str]] = {r: [] for r in ROLES}
        self.timeline: list[str] = []
        self.t0 = self.app.engine.now()
        self.show_phases()
        if not self.state.apply_started:
            self.start()

    def start(self) -> None:
        self.set_state(self.state.with_(apply_started=True))
        self.app.engine.sink = self.progress_sink
        self.run_work("apply", "applying to both servers…", self.app.engine.apply,
                      self.state.answers, done=self.done_apply, failed=self.failed_apply)

    # -- live progress ---------------------------------------------------------------------
    def on_progress(self, message) -> None:
        role, step, text = message.role, message.step, message.text
        stamp = f"+{self.app.engine.now() - self.t0:5.1f}s"
        if step == "state" or role == "pair":
            self.timeline.append(f"[dim]{stamp}[/dim] {escape(role):<9} {escape(text)}")
            self.query_one("#timeline", Static).update("\n".join(self.timeline[-12:]))
        elif role in ROLES:
            if step in dict(PHASES):
                self.done_phases[role][step] = text
            else:
                self.notes[role].append(f"{step}: {text}")
            self.show_phases()

    def show_phases(self) -> None:
        for role in ROLES:
            done = self.done_phases[role]
            lines = [f"[b]{role.title()}[/b]"]
            current = True
            for step, label in PHASES:
                if step in done:
                    lines.append(f"[green]✔[/] {label}\n    [dim]{escape(done[step])}[/dim]")
                elif current and self.running:
                    lines.append(f"[cyan]…[/] {label}")
                    current = False
                else:
                    lines.append(f"[dim]·  {label}[/dim]")
            lines += [f"[yellow]•[/] {escape(n)}" for n in self.notes[role][-4:]]
            self.query_one(f"#{role}-phases", Static).update("\n".join(lines))

    # -- cancel ----------------------------------------------------------------------------
    @on(Button.Pressed, "#cancel")
    def action_cancel_work(self) -> None:
        from screens.modals import ConfirmModal

        if self.running == "apply":
            def answer(yes: bool | None) -> None:
                if yes and self.running == "apply":
                    self.token.cancel("cancelled by the operator")
                    self.notify("cancelling: both servers are put back on the configuration "
                                "they ran before (unless the change was already committed)")
            self.app.push_screen(ConfirmModal(
                "Cancel the apply?", "Both servers will be rolled back to the configuration "
                "they ran before, and restarted with it.", yes="Roll back", no="Keep going"),
                answer)
        elif self.running is None and self.state.apply_ok:
            self.offer_revert()

    def offer_revert(self, then_quit: bool = False) -> None:
        """After the commit nothing is "cancelled" any more: undoing it is a new change."""
        from screens.modals import ConfirmModal

        def answer(yes: bool | None) -> None:
            if yes:
                self.quit_after_revert = then_quit
                self.query_one("#outcome", Static).update("[cyan]… rolling back: both "
                                                          "servers get their old config[/]")
                self.app.engine.sink = self.progress_sink
                self.run_work("revert", "putting both servers back on their old "
                              "configuration…", self.app.engine.revert, self.state.answers,
                              done=self.done_revert)
            elif then_quit:
                self.app.exit(0)
        self.app.push_screen(ConfirmModal(
            "Roll back the committed change?",
            "Both servers already run the new configuration. Rolling back now is a new change "
            "of both servers: each gets back the configuration it ran before, validated, "
            "guarded and restarted like the apply. Do it?", yes="Roll back both", no="Keep it"),
            answer)

    def done_revert(self, result) -> None:
        if result.ok:
            text = ("[green]✔ Both servers run the configuration they ran before the apply "
                    "again.[/]")
            self.set_state(self.state.with_(apply_ok=False, rolled_back=True,
                                            apply_reason="rolled back by the operator after "
                                            "the commit"))
        else:
            text = (f"[red]✘ The rollback stopped at {escape(result.phase)}: "
                    f"{escape(result.reason)}[/]\n[b]Both servers still run the new "
                    "configuration[/b]" + ("" if result.rolled_back else
                                           "; see the notes and the session record."))
        text += "".join(f"\n  • {escape(n)}" for n in result.notes)
        self.query_one("#outcome", Static).update(text)
        if getattr(self, "quit_after_revert", False):
            self.app.end_status = "reverted" if result.ok else "failed"
            self.app.exit(0 if result.ok else 1)

    # -- outcome ---------------------------------------------------------------------------
    def done_apply(self, result) -> None:
        self.query_one("#cancel").display = False
        ok, reason, rolled = result.ok, "" if result.ok else result.reason, result.rolled_back
        if not result.changed:
            text = ("[green]✔ The servers already ran this configuration; both are normal.[/]"
                    if ok else f"[red]✘ {escape(reason)}[/]")
            text += "".join(f"\n  • {escape(n)}" for n in result.notes)
        else:
            if ok:
                after = f" after {result.waited:.1f} s" if result.waited is not None else ""
                text = (f"[green]✔ Both servers run the new configuration and report "
                        f"normal{after}.[/]\n[dim]Esc rolls it back (a new change of both "
                        "servers, asked first).[/dim]")
            else:
                text = f"[red]✘ Apply stopped at {escape(result.phase)}: {escape(reason)}[/]"
                text += ("\n[b]Both servers were rolled back[/b] to the configuration they ran "
                         "before, and run it." if rolled else
                         "\n[red]The rollback did not complete on every server; see the "
                         "notes above and the session record.[/]")
            text += "".join(f"\n  • {escape(n)}" for n in result.notes)
        self.query_one("#outcome", Static).update(text)
        self.show_phases()
        self.set_state(self.state.with_(apply_ok=ok, apply_reason=reason, rolled_back=rolled))
        if self.app.quit_after_apply:
            if ok and result.changed:
                # The commit came before the cancel took effect: say so, and offer the
                # rollback as what it now is, a new change.
                self.notify("The change was committed before the cancel took effect.",
                            timeout=10)
                self.offer_revert(then_quit=True)
                return
            self.app.exit(1 if not ok else 0)

    def failed_apply(self, error) -> bool:
        self.set_state(self.state.with_(apply_ok=False, apply_reason=str(error)))
        if self.app.quit_after_apply:
            self.app.exit(1)
        return False
