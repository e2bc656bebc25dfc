"""Welcome: what will happen, and the other path (checking an existing pair)."""

from __future__ import annotations

from rich.markup import escape
from textual import on
from textual.app import ComposeResult
from textual.widgets import Button, Static

from screens.base import StepResult, StepScreen
from wizard.flow.steps import CHECK

WELCOME = "\n".join([
    "This wizard sets up [b]ISC DHCP failover[/b] between two servers you already run, "
    "following the ten steps of ISC's [i]Basic Guide to Configuring DHCP Failover[/i] (left).",
    "",
    "  • Steps 1–5 [b]only look[/b]: the wizard logs in to both servers over SSH, compares "
    "their dhcpd versions and clocks, reads the networks they serve, probes the firewall, and "
    "asks for the failover settings (sensible defaults are filled in).",
    "  • Step 6–7 shows [b]both new configurations[/b] as differences. Nothing on the servers "
    "has changed until you confirm this plan.",
    "  • Step 8 changes both servers as [b]one transaction[/b]: test, back up, switch, restart, "
    "and wait until both say [i]normal[/i]. If anything fails, or you cancel, both are rolled "
    "back to the configuration they ran before.",
    "  • Step 9 tests failover for real; step 10 leaves both back in operation.",
    "",
    "Everything is recorded in a session directory as deployment evidence (secrets masked).",
    "[dim]Keys: Ctrl+N next, Ctrl+B back, F1 the guide's text for each step, Ctrl+S save the "
    "answers, Ctrl+P commands, Ctrl+Q quit. The mouse works too.[/dim]",
])


def login(host) -> str:
    """Markup for user@host[:port] as the answers give it. A missing user is left to
    ~/.ssh/config or the local login at connect time: resolving it here would read files on
    the UI thread."""
    where = escape(host.host + (f":{host.port}" if host.port else ""))
    who = (f"[b]{escape(host.user)}@{where}[/b]" if host.user
           else f"[b]{where}[/b] [dim](user from ~/.ssh/config, else yours)[/dim]")
    return who + (" with sudo" if host.sudo else "")


def pair_text(answers) -> str:
    """Which pair the loaded answers point at: whoever loaded the wrong file sees it here,
    before step 1 logs in anywhere."""
    lines = [f"Answers loaded from [b]{escape(answers.source or '')}[/b]. The pair to set up:"]
    for role in ("primary", "secondary"):
        lines.append(f"  {role.title():<12} {login(answers.host(role))}")
    lines.append(f"  {'Relationship':<12} [b]failover peer "
                 f"\"{escape(answers.failover.name)}\"[/b]")
    lines.append("[dim]Every field is pre-filled; each step still shows it to you for "
                 "review.[/dim]")
    return "\n".join(lines)


class WelcomeScreen(StepScreen):
    STEP = "welcome"
    NEXT_LABEL = "Set up failover"

    def title_text(self) -> str:
        return "Welcome to dhcp-wizard"

    def compose_body(self) -> ComposeResult:
        # First, so that the pair about to be changed is seen without scrolling.
        if self.state.answers.source:
            yield Static(pair_text(self.state.answers), id="pair", classes="panel")
        yield Static(WELCOME, id="welcome-text")
        yield Static("[b]Already running failover?[/b] Check an existing pair before or after "
                     "an upgrade: every check, nothing changed.", classes="section")
        yield Button("Check an existing pair", id="check", compact=True)

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one("#back").display = False
        self.query_one("#next").focus()

    @on(Button.Pressed, "#check")
    def _check(self) -> None:
        self.dismiss(StepResult(CHECK, self.state))
