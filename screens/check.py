"""The other path: check an existing pair (before/after an upgrade); changes nothing."""

from __future__ import annotations

from rich.markup import escape
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import Button, Checkbox, Static

from screens.base import StepResult, StepScreen
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
        yield Static("", id="upgrade-why")
        yield Checkbox("Go on past these warnings for the upgrade (recorded in the session, "
                       "as `upgrade --accept` records them)", id="upgrade-accept")
        yield Button("Rolling upgrade…", id="upgrade", variant="primary", compact=True)

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one("#back").disabled = False
        self.results: list = []
        self.hosts: dict = {}
        self.show_offer()
        if self.state.answers.primary.host and self.state.answers.secondary.host:
            self.action_inspect()

    @on(Button.Pressed, "#again")
    def action_inspect(self) -> None:
        self.live = []
        self.results = []
        self.show_offer()
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
        self.results, self.hosts = list(results), dict(value.get("hosts") or {})
        self.problem = value.get("problem")
        self.show_offer()

    # -- the rolling upgrade, offered once the check passes as `upgrade`'s pre-flight ------
    def _accepted(self) -> set[str]:
        from wizard.flow.upgrade import offer

        _open, _reasons, gate = offer(self.results)
        return set(gate.keys) if self.query_one("#upgrade-accept", Checkbox).value else set()

    def show_offer(self) -> None:
        from wizard.flow.upgrade import offer

        why = self.query_one("#upgrade-why", Static)
        box = self.query_one("#upgrade-accept", Checkbox)
        button = self.query_one("#upgrade", Button)
        if not self.results:
            why.display = box.display = button.display = False
            return
        is_open, reasons, gate = offer(self.results, self._accepted())
        if getattr(self, "problem", None) is not None:
            reasons.append(f"the servers could not be inspected: {self.problem.message}")
            is_open = False
        lines = ["[b]Rolling upgrade[/b]"]
        if reasons:
            lines.append("[dim]Not offered until:[/dim]")
            lines += [f"  [red]✘[/] {escape(r)}" for r in reasons]
        elif gate.warnings:
            lines.append("Offered once these warnings are accepted:")
            lines += [f"  [yellow]▲[/] {escape(w.key)}: {escape(w.text)}" for w in gate.warnings]
        else:
            lines.append("[green]✔[/] the check passes as the upgrade's pre-flight")
        why.update("\n".join(lines))
        why.display = True
        box.display = bool(gate.warnings) and not reasons
        button.display = True
        button.disabled = not is_open

    @on(Checkbox.Changed, "#upgrade-accept")
    def _accept_changed(self) -> None:
        self.show_offer()

    @on(Button.Pressed, "#upgrade")
    def open_upgrade(self) -> None:
        from wizard.checks.registry import spec
        from wizard.flow.policy import judge
        from wizard.flow.upgrade import offer

        accepted = self._accepted()
        is_open, _reasons, _gate = offer(self.results, accepted)
        if self.running or not is_open or getattr(self, "problem", None) is not None:
            self.app.bell()
            return
        # The warnings gone past, per step, as `upgrade --accept` records them.
        for step in dict.fromkeys(spec(r.id).step for r in self.results):
            self.app.engine.record_acceptance(step, judge(self.results, step), accepted)
        state = self.state.with_(checks=tuple(self.results), checked=True, hosts=self.hosts,
                                 overrides=frozenset(self.state.overrides | accepted))
        self.dismiss(StepResult("upgrade", state))
