"""Steps 6-7: both new configs as diffs side by side, the OMAPI key, explicit confirmation."""

from __future__ import annotations

from rich.markup import escape
from rich.syntax import Syntax
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import Button, Checkbox, Static

from screens.base import StepScreen
from wizard.steps import ROLES

# A checkbox label does not wrap: the consequences go in a paragraph above it.
CONSEQUENCES = ("Applying restarts both servers. If anything fails, or you cancel, both are "
                "rolled back to the configuration they run now.")
CONFIRM = "I have reviewed both changes: apply them now"


class ReviewScreen(StepScreen):
    STEP = "review"
    NEXT_LABEL = "Apply"
    INTRO = ("Nothing has changed on the servers yet. Below is exactly what step 8 writes: the "
             "failover peer blocks (mclt and split on the primary only), the pool references "
             "and OMAPI with its key.")
    BINDINGS = [Binding("ctrl+k", "reveal", "Reveal/hide key")]

    def compose_body(self) -> ComposeResult:
        yield Static("", id="notes")
        with Horizontal(classes="columns"):
            for role in ROLES:
                with VerticalScroll(classes="diff"):
                    yield Static(f"[b]{role.title()}[/b]", id=f"{role}-title")
                    yield Static("[dim]planning…[/dim]", id=f"{role}-diff")
        with Horizontal(id="key-row"):
            yield Static("", id="key")
            yield Button("Reveal key (Ctrl+K)", id="reveal", compact=True)
        yield Static(CONSEQUENCES, id="consequences")
        yield Checkbox(CONFIRM, id="confirm", disabled=True)

    def on_mount(self) -> None:
        super().on_mount()
        self.revealed = False
        self.plan = None
        self.set_state(self.state.with_(plan_ready=False, plan_confirmed=False))
        self.run_work("plan", "computing both new configurations…", self.app.engine.plan,
                      self.state.answers)

    def done_plan(self, plan) -> None:
        self.plan = plan
        notes = list(plan.notes)
        if not plan.changed:
            notes.insert(0, "Both servers already run this configuration: applying only "
                            "checks that both are normal.")
        self.query_one("#notes", Static).update(
            "[b]What changes[/b]\n" + "\n".join(f"  • {escape(n)}" for n in notes))
        for role in ROLES:
            files = [f for f in plan.files if f.role == role and f.changed]
            title = ", ".join(f.path for f in files) or "no change"
            self.query_one(f"#{role}-title", Static).update(
                f"[b]{role.title()}[/b]  [dim]{escape(title)}[/dim]")
            text = "\n".join(self.app.engine.mask(f.diff()) for f in files)
            self.query_one(f"#{role}-diff", Static).update(
                Syntax(text, "diff", word_wrap=True, theme="ansi_dark") if text
                else "[dim]unchanged[/dim]")
        self.show_key()
        self.query_one("#confirm", Checkbox).disabled = False
        self.set_state(self.state.with_(plan_ready=True))

    def show_key(self) -> None:
        if self.plan is None:
            return
        shown = self.plan.secret if self.revealed else "•" * 24
        self.query_one("#key", Static).update(
            f"[b]OMAPI key[/b] {escape(self.state.answers.omapi.key_name)} (hmac-md5): "
            f"{escape(shown)}\n[dim]{escape(self.plan.secret_origin)}[/dim]")
        self.query_one("#reveal", Button).label = ("Hide key (Ctrl+K)" if self.revealed
                                                    else "Reveal key (Ctrl+K)")

    @on(Button.Pressed, "#reveal")
    def action_reveal(self) -> None:
        self.revealed = not self.revealed
        self.show_key()

    @on(Checkbox.Changed, "#confirm")
    def _confirm(self, event: Checkbox.Changed) -> None:
        self.set_state(self.state.with_(plan_confirmed=event.value))

    def failed_plan(self, error) -> bool:
        self.query_one("#notes", Static).update(
            "[red]✘ The plan could not be computed.[/] Go back and fix what the message says.")
        return False

    def before_next(self, state):
        self.app.engine.record("review", "confirmed", changed=bool(self.plan and self.plan.changed))
        # A new confirmation starts a new apply (after a rolled-back one, too).
        return state.with_(apply_started=False, apply_ok=None, apply_reason="",
                           rolled_back=False)
