"""The other path: check an existing pair (before/after an upgrade); changes nothing."""

from __future__ import annotations

from rich.markup import escape
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import Button, Static

from screens.base import StepScreen
from screens.hostkeys import HostKeyFlow, inspect_pair
from screens.widgets import result_line

GROUPS = (("Servers", ("ssh", "facts", "dhcpd-version", "version-parity", "dhcp-listen")),
          ("Clocks", ("clock-skew", "ntp")),
          ("Firewall and relays", ("port-failover", "port-omapi", "relay")),
          ("Configuration and failover state", ("config-lint", "failover-state")))


def grouped(results) -> str:
    out = []
    for title, ids in GROUPS:
        rows = [r for r in results if r.id in ids]
        if rows:
            out.append(f"[b]{title}[/b]")
            out += ["  " + result_line(r.status, r.detail, r.fix).replace("\n", "\n  ")
                    for r in rows]
    return "\n".join(out)


class CheckScreen(HostKeyFlow, StepScreen):
    STEP = "check"
    NEXT_LABEL = "Quit"
    INTRO = ("Every check of the wizard against the pair in the answers: SSH, versions, "
             "clocks, ports, both configs as a pair, and the live failover state. Nothing is "
             "changed.")
    BINDINGS = [Binding("ctrl+r", "inspect", "Check again")]

    def title_text(self) -> str:
        return "Check an existing pair"

    def compose_body(self) -> ComposeResult:
        a = self.state.answers
        yield Static(f"Primary [b]{escape(a.primary.host or '?')}[/b], secondary "
                     f"[b]{escape(a.secondary.host or '?')}[/b]"
                     + ("" if a.primary.host else "  [red](load an answers file with "
                        "--answers to check a pair)[/red]"))
        yield Button("Check again (Ctrl+R)", id="again", compact=True)
        yield Static("", id="summary")
        yield Static("", id="checks")

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one("#back").disabled = False
        if self.state.answers.primary.host and self.state.answers.secondary.host:
            self.action_inspect()

    @on(Button.Pressed, "#again")
    def action_inspect(self) -> None:
        self.live = []
        self.run_work("inspect", "checking the pair…", inspect_pair, self.app.engine,
                      self.state.answers, self._one, done=self.done_inspect)

    def _one(self, result) -> None:
        self.progress_sink(result.host or "pair", result.id, result.status)

    def on_progress(self, message) -> None:
        self.query_one("#summary", Static).update(
            f"[cyan]… {escape(message.step)} {escape(message.role)}: {escape(message.text)}[/]")

    def done_inspect(self, value: dict) -> None:
        if self.trust_needed(value):
            return
        results = value["results"]
        failed = [r for r in results if r.status == "fail"]
        warned = [r for r in results if r.status == "warn"]
        self.query_one("#summary", Static).update(
            f"[red]✘ {len(failed)} check(s) failed[/], {len(warned)} warning(s), of "
            f"{len(results)}" if failed else
            f"[green]✔ All {len(results)} checks passed[/]" + (
                f" ({len(warned)} warning(s))" if warned else ""))
        self.query_one("#checks", Static).update(grouped(results))
