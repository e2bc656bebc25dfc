"""Step 3: the subnets and pools of the live primary config; choose which join failover."""

from __future__ import annotations

from rich.markup import escape
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import Button, SelectionList, Static
from textual.widgets.selection_list import Selection

from screens.base import StepScreen


def network_label(net) -> str:
    ranges = ", ".join(net.ranges) if net.ranges else "no pool or range (nothing to share)"
    extra = f"  [dim]shared-network {escape(net.shared)}[/dim]" if net.shared else ""
    if net.peer:
        extra += f"  [dim](already refers to failover peer \"{escape(net.peer)}\")[/dim]"
    return f"[b]{net.cidr}[/b]  {escape(ranges)}{extra}"


class NetworksScreen(StepScreen):
    STEP = "networks"
    INTRO = ("These subnets are declared in the primary's dhcpd.conf as it runs now. Tick the "
             "ones whose pools both servers should share (Space toggles).")
    BINDINGS = [Binding("ctrl+r", "read", "Read again")]

    def compose_body(self) -> ComposeResult:
        yield SelectionList[str](id="nets")
        yield Button("Read the configs again (Ctrl+R)", id="read", compact=True)
        yield Static("Compared with the secondary", classes="section")
        yield Static("", id="diffs")

    def on_mount(self) -> None:
        super().on_mount()
        self.show()
        if not self.state.networks:
            self.action_read()

    @on(Button.Pressed, "#read")
    def action_read(self) -> None:
        self.run_work("read", "reading both servers' dhcpd.conf…", self.app.engine.networks,
                      self.state.answers, done=self.done_read)

    def done_read(self, value) -> None:
        networks, differences = value
        answers = self.state.answers
        pools = answers.failover.pools
        known = {n.cidr for n in networks}
        if pools is not None and not set(pools) <= known:
            unknown = sorted(set(pools) - known)
            self.notify(f"the answers name {', '.join(unknown)}, which the primary does not "
                        "declare; left out", severity="warning", timeout=8)
            answers = answers.with_changes("failover", pools=tuple(p for p in pools if p in known))
        self.set_state(self.state.with_(networks=tuple(networks), answers=answers,
                                        differences=tuple(differences)))
        self.show()

    def show(self) -> None:
        nets = self.query_one("#nets", SelectionList)
        chosen = {n.cidr for n in self.state.chosen()}
        with nets.prevent(SelectionList.SelectedChanged):
            nets.clear_options()
            nets.add_options([Selection(network_label(n), n.cidr, n.cidr in chosen)
                              for n in self.state.networks])
        self.show_differences()

    def show_differences(self) -> None:
        diffs = self.state.differences
        if not self.state.networks:
            text = "[dim]not read yet[/dim]"
        elif not diffs:
            text = "[green]✔[/] The secondary declares the same pools for these subnets."
        else:
            text = "\n".join(f"[yellow]▲[/] {escape(d)}" for d in diffs) + (
                "\n[dim]Pools must be identical on both servers; the plan gives the secondary "
                "the primary's pools (you will see it in the review).[/dim]")
        self.query_one("#diffs", Static).update(text)

    @on(SelectionList.SelectedChanged)
    def _chosen(self, event: SelectionList.SelectedChanged) -> None:
        selected = tuple(v for v in (n.cidr for n in self.state.networks)
                         if v in event.selection_list.selected)
        everything = len(selected) == len(self.state.networks)
        pools = None if everything and self.state.answers.failover.pools is None else selected
        answers = self.state.answers.with_changes("failover", pools=pools)
        self.set_state(self.state.with_(answers=answers,
                                        differences=self.app.engine.differences(pools)))
        self.show_differences()
