"""Step 4: the firewall (port-probe matrix, OMAPI exposure) and the DHCP relays."""

from __future__ import annotations

from rich.markup import escape
from rich.table import Table
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import Button, Checkbox, Input, Label, Static

from screens.base import StepScreen
from screens.widgets import MARKS, results_markup
from wizard.roles import ROLES


def server_addresses(state) -> list[str]:
    fo = state.answers.failover
    out = []
    for role in ROLES:
        info = state.hosts.get(role)
        out.append(getattr(fo, f"{role}_address") or (info.address if info else None)
                   or state.answers.host(role).host)
    return out


def probe_table(state) -> Table:
    table = Table(expand=True, show_lines=False)
    table.add_column("traffic", ratio=2)
    table.add_column("from → to", ratio=4, overflow="fold")
    table.add_column("result", ratio=5)
    names = {"port-failover": "failover (tcp)", "port-omapi": "OMAPI (tcp)",
             "dhcp-listen": "DHCP (udp/67)"}
    rows = [r for r in state.checks if r.id in ("port-failover", "port-omapi")]
    rows += [r for r in state.checks if r.id == "dhcp-listen"]
    for r in rows:
        mark, colour = MARKS[r.status]
        where, _, said = r.detail.partition(": ")
        if r.id == "dhcp-listen":
            where, said = f"clients → {r.host}", said.split(";")[0]
        table.add_row(names[r.id], where.replace(" -> ", " → "),
                      f"[{colour}]{mark}[/] {escape(said)}")
    return table


def exposure_text(results, port: int) -> str:
    """Who can reach OMAPI, in the words of the same probe the table shows. The check says
    pass both for an open port (with the fix that limits it) and for a refused one (the
    firewall lets this host through, nothing listens yet): both are reachable, and the
    deployment is what makes the second one answer."""
    lines = []
    for r in (r for r in results if r.id == "port-omapi"):
        host = escape(r.host or "")
        if r.status == "pass" and r.fix:
            lines.append(f"[yellow]▲[/] {host}: OMAPI already answers on tcp/{port} from "
                         f"here. {escape(r.fix)}")
        elif r.status == "pass":
            lines.append(f"[yellow]▲[/] {host}: tcp/{port} is reachable from here and nothing "
                         "listens yet. The deployment enables OMAPI there, which has no "
                         "address ACL: afterwards, limit the port to this admin host.")
        elif r.status == "fail":
            lines.append(f"[red]✘[/] {host}: OMAPI is not reachable from here (see the "
                         "table): not exposed to this host, but the wizard needs it to read "
                         "the failover state and to drill.")
        else:
            lines.append(f"[grey50]–[/] {host}: not probed: {escape(r.detail)}")
    return "\n".join(lines) or "[dim]not probed yet[/dim]"


class ElementsScreen(StepScreen):
    STEP = "elements"
    SHOWS = ("port-failover", "port-omapi", "relay")
    INTRO = ("Failover messages go between the two servers in both directions; the wizard "
             "talks OMAPI to both; clients (or their relays) must reach both.")
    BINDINGS = [Binding("ctrl+r", "probe", "Probe again")]

    def compose_body(self) -> ComposeResult:
        yield Static("", id="matrix")
        yield Button("Probe again (Ctrl+R)", id="probe", compact=True)
        yield Static("Exposure", classes="section")
        yield Static("", id="exposure")
        yield Static("DHCP relays", classes="section")
        yield Static("Relays (router or dhcrelay addresses) in front of remote segments, "
                    "comma separated; leave empty if every client is on the servers' own "
                    "segments:")
        yield Input(", ".join(self.state.answers.relays.addresses), id="relays",
                    placeholder="e.g. 203.0.113.1, 203.0.113.129")
        yield Vertical(id="relay-list")

    def on_mount(self) -> None:
        super().on_mount()
        self.show()
        if not self.state.checked:
            self.action_probe()

    @on(Button.Pressed, "#probe")
    def action_probe(self) -> None:
        self.run_work("probe", "probing the ports in both directions…", self.app.engine.check,
                      self.state.answers, done=self.done_probe)

    def done_probe(self, results) -> None:
        self.set_state(self.state.with_(checks=tuple(results), checked=True))
        self.show()

    def show(self) -> None:
        self.query_one("#matrix", Static).update(probe_table(self.state))
        self.query_one("#exposure", Static).update(
            exposure_text(self.state.results("elements"), self.state.answers.omapi.port))
        self.show_relays()

    def show_relays(self) -> None:
        from wizard.checks.relays import helper_lines

        box = self.query_one("#relay-list", Vertical)
        box.remove_children()
        relays = self.state.answers.relays
        servers = server_addresses(self.state)
        widgets = []
        checked = {r.host: r for r in self.state.results("elements") if r.id == "relay"}
        # No ids: the old list is still being removed while the new one mounts.
        for relay in relays.addresses:
            if relay in relays.ssh:
                found = checked.get(relay)
                widgets.append(Static(results_markup([found]) if found else
                                      f"{escape(relay)}: checked over SSH on the next probe "
                                      "(Ctrl+R)"))
            else:
                lines = "\n".join(f"  • {escape(x)}" for x in helper_lines(servers).split("; "))
                said = results_markup([checked[relay]]) + "\n" if relay in checked else ""
                widgets.append(Static(f"{said}[b]{escape(relay)}[/b] must forward to both "
                                      f"{servers[0]} and {servers[1]}. Add:\n{lines}"))
                widgets.append(Checkbox(f"I have added these lines on {relay}",
                                        relay in relays.confirmed, name=relay,
                                        classes="relay-confirm"))
            # A Linux relay can be read instead of trusted: its dhcrelay's arguments list
            # the servers it forwards to.
            widgets.append(Checkbox(f"{relay} is a Linux dhcrelay: check it over SSH "
                                    "(as the primary's user and key)", relay in relays.ssh,
                                    name=relay, classes="relay-ssh"))
        if widgets:
            box.mount(*widgets)

    @on(Input.Changed, "#relays")
    def _relays(self, event: Input.Changed) -> None:
        listed = tuple(dict.fromkeys(x.strip() for x in event.value.split(",") if x.strip()))
        relays = self.state.answers.relays
        if listed == relays.addresses:
            return
        confirmed = tuple(r for r in relays.confirmed if r in listed)
        ssh = tuple(r for r in relays.ssh if r in listed)
        answers = self.state.answers.with_changes("relays", addresses=listed,
                                                  confirmed=confirmed, ssh=ssh)
        self.set_state(self.state.with_(answers=answers))
        self.show_relays()

    def _set_relay(self, key: str, event: Checkbox.Changed) -> bool:
        """Add or drop the checkbox's relay in relays.<key>; False when nothing changed."""
        relay, listed = event.checkbox.name, getattr(self.state.answers.relays, key)
        new = tuple(r for r in listed if r != relay) + ((relay,) if event.value else ())
        if new == listed:
            return False
        answers = self.state.answers.with_changes("relays", **{key: new})
        self.set_state(self.state.with_(answers=answers))
        return True

    @on(Checkbox.Changed, ".relay-ssh")
    def _over_ssh(self, event: Checkbox.Changed) -> None:
        if self._set_relay("ssh", event):
            self.call_after_refresh(self.show_relays)

    @on(Checkbox.Changed, ".relay-confirm")
    def _confirm(self, event: Checkbox.Changed) -> None:
        self.app.engine.record("elements", "relay-confirmed", relay=event.checkbox.name,
                               value=event.value)
        self._set_relay("confirmed", event)
