"""The guide's closing section: what the failover path and the ports' exposure are, and the
firewall rules of `protect firewall`, planned, shown as a diff and applied the same way."""

from __future__ import annotations

from rich.markup import escape
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import Button, Input, Label, Static

from screens.base import StepScreen, error_text
from screens.widgets import result_line
from wizard.roles import ROLES

TITLES = {"path": "Path", "path-rtt": "Round trip", "path-mtu": "Path MTU",
          "exposure": "Who reaches the ports", "host-firewall": "Host firewall"}


def admin_error(text: str) -> str | None:
    """Why the admin field is not a list of addresses, in the answers file's words."""
    from wizard.answers import answers_from_dict
    from wizard.errors import InputError

    try:
        answers_from_dict({"primary": {"host": "p"}, "secondary": {"host": "s"},
                           "protect": {"admin": split_admin(text)}}, source="admin")
    except InputError as exc:
        return exc.message.split(": ", 2)[-1]
    return None


def split_admin(text: str) -> list[str]:
    return [a for a in (p.strip() for p in text.replace(",", " ").split()) if a]


def probes_markup(probes: list[dict]) -> str:
    lines = []
    for p in probes:
        mark = "[green]✔[/]" if p["ok"] else "[red]✘[/]"
        lines.append(f"  {mark} {escape(p['from'])} → {escape(p['to'])}:{p['port']} "
                     f"{escape(p['what'])}: {escape(p['outcome'])} "
                     f"[dim](should be {'reached' if p['expect'] == 'reach' else 'blocked'})[/]")
    return "\n".join(lines)


def headline(message: str, probes: list[dict]) -> str:
    """The outcome's message without the probe list it ends with (shown as lines below)."""
    cuts = [i for p in probes if (i := message.find(f": {p['from']}->")) >= 0]
    return message[:min(cuts)] if cuts else message


class ProtectScreen(StepScreen):
    STEP = "protect"
    INTRO = ("The guide closes with two risks the pair still runs: the failover dialogue is "
             "neither encrypted nor authenticated, and OMAPI, which can shut a server down, "
             "answers whoever reaches it. Both fixes are optional; to go on without one, "
             "tick the box below (the session records it).")
    BINDINGS = [Binding("ctrl+r", "apply_firewall", "Apply the firewall rules")]

    def compose_body(self) -> ComposeResult:
        yield Static("What the checks found", classes="section")
        yield Static("[dim]checking the path and who reaches the ports…[/dim]", id="found")
        yield Static("Firewall: failover only from the partner, OMAPI only from the admins",
                     classes="section")
        with Horizontal(classes="field-row"):
            yield Label("Admin addresses (OMAPI)")
            yield Input(", ".join(self.state.answers.protect.admin), id="admin",
                        placeholder="empty: the address this wizard's SSH comes from")
        yield Static("", id="admin-error", classes="field-error")
        yield Static("", id="admin-help", classes="field-help")
        with Horizontal(classes="columns diffs"):
            for role in ROLES:
                with VerticalScroll(classes="diff"):
                    yield Static(f"[b]{role.title()}[/b]", id=f"{role}-fw-title")
                    yield Static("[dim]planning…[/dim]", id=f"{role}-fw-diff")
        yield Static("", id="fw-why")
        yield Button("Apply the firewall rules (Ctrl+R)", id="fw-apply", variant="primary",
                     compact=True, disabled=True)
        yield Static("", id="fw-progress")
        yield Static("", id="fw-outcome")
        with Vertical(id="tunnel"):
            yield Static("Tunnel: the failover dialogue through WireGuard between the peers",
                         classes="section")
            yield Static("[dim]planning…[/dim]", id="tunnel-plan")
            yield Static("", id="tunnel-why")
            yield Button("Bring the tunnel up (both servers restart)", id="tunnel-apply",
                         variant="primary", compact=True, disabled=True)
            yield Static("", id="tunnel-progress")
            yield Static("", id="tunnel-outcome")

    def on_mount(self) -> None:
        super().on_mount()
        self.fw_plan = None
        self.tunnel_plan = None
        self.tunnel_up = False
        self.fw_applied = False       # the plan on screen went in: a new one first (Enter)
        self.fw_lines: list[str] = []
        self.tunnel_lines: list[str] = []
        self.query_one("#tunnel").display = False
        self.quit_after = False
        if self.state.protect_surveyed:
            self.show_found()
            self.plan_firewall()
        else:
            self.run_work("survey", "checking the path and who reaches the ports…",
                          self.app.engine.protect_survey, self.state.answers,
                          done=self.done_survey, failed=self.failed_survey)

    # -- what the checks found -------------------------------------------------------------
    def done_survey(self, results) -> None:
        self.set_state(self.state.with_(protect_checks=tuple(results), protect_surveyed=True))
        self.show_found()
        self.plan_firewall()

    def failed_survey(self, error) -> bool:
        message, fix = error_text(error)
        self.set_state(self.state.with_(protect_surveyed=True, protect_error=message))
        self.query_one("#found", Static).update(
            f"[red]✘ {escape(message)}[/]" + (f"\n    [b]fix:[/b] {escape(fix)}" if fix else ""))
        return True

    def show_found(self) -> None:
        from wizard.flow.protection import SURVEY_CHECKS, routed

        results = self.state.protect_checks
        lines = []
        for check in SURVEY_CHECKS:
            mine = [r for r in results if r.id == check]
            if mine:
                lines.append(f"[b]{TITLES[check]}[/b]")
                lines += [result_line(r.status, r.detail, r.fix) for r in mine]
        if results:
            lines.append("[dim]the failover path is "
                         + ("routed" if routed(results) else "one segment") + "[/dim]")
        self.query_one("#found", Static).update("\n".join(lines) or "[dim]nothing found[/]")

    # -- the firewall ----------------------------------------------------------------------
    def plan_firewall(self) -> None:
        self.app.engine.sink = self.progress_sink
        self.run_work("fw-plan", "reading both firewalls and planning the rules…",
                      self.app.engine.protect_plan, self.state.answers,
                      done=self.done_plan, failed=self.failed_plan)

    def done_plan(self, plan) -> None:
        from screens.review import DiffLines

        self.fw_plan = plan
        self.fw_applied = False
        for role in ROLES:
            det = plan.found[role]
            self.query_one(f"#{role}-fw-title", Static).update(
                f"[b]{role.title()}[/b]  [dim]{escape(det.detail)}[/dim]")
            diff = plan.diffs.get(role, "")
            self.query_one(f"#{role}-fw-diff", Static).update(
                DiffLines(diff) if diff else "[dim]dhcp-wizard's rules already in place, "
                "unchanged[/dim]")
        admins = "; ".join(f"{r}: {', '.join(a)}" for r, a in plan.admin.items())
        self.query_one("#admin-help", Static).update(
            f"OMAPI admitted from {escape(admins)}. Addresses or CIDRs, comma-separated; Enter "
            "plans again.")
        button = self.query_one("#fw-apply", Button)
        button.label = ("Apply the firewall rules (Ctrl+R)" if plan.changes else
                        "Verify the rules in place (Ctrl+R)")
        self.enable_buttons()
        self.plan_tunnel()

    def failed_plan(self, error) -> bool:
        message, fix = error_text(error)
        for role in ROLES:
            self.query_one(f"#{role}-fw-diff", Static).update("[dim]no plan[/dim]")
        self.query_one("#fw-outcome", Static).update(
            f"[red]✘ {escape(message)}[/]" + (f"\n    [b]fix:[/b] {escape(fix)}" if fix else ""))
        self.set_state(self.state.with_(firewall_ok=False, firewall_summary=message))
        self.plan_tunnel()
        return True

    @on(Input.Submitted, "#admin")
    def replan(self) -> None:
        if self.running:
            return
        text = self.query_one("#admin", Input).value
        error = admin_error(text)
        self.query_one("#admin-error", Static).update(escape(error) if error else "")
        if error:
            return
        from wizard.answers import answers_from_dict

        admin = answers_from_dict({"primary": {"host": "p"}, "secondary": {"host": "s"},
                                   "protect": {"admin": split_admin(text)}},
                                  source="admin").protect.admin
        self.set_state(self.state.with_(answers=self.state.answers.with_changes(
            "protect", admin=admin)))
        self.query_one("#fw-apply", Button).disabled = True
        self.plan_firewall()

    @on(Button.Pressed, "#fw-apply")
    def action_apply_firewall(self) -> None:
        if self.running or self.fw_plan is None or self.query_one("#fw-apply").disabled:
            return
        self.fw_lines = []
        self.query_one("#fw-apply", Button).disabled = True
        self.query_one("#admin", Input).disabled = True
        self.query_one("#fw-outcome", Static).update("")
        self.app.engine.sink = self.progress_sink
        timeout = self.fw_plan.job.timeout
        self.run_work("fw-apply", "applying the firewall rules: watchdog armed on each host "
                      f"(it restores them unless confirmed within {timeout:g} s)…",
                      self.app.engine.protect_apply, self.fw_plan,
                      done=self.done_apply, failed=self.failed_apply)
        self.enable_buttons()

    def on_progress(self, message) -> None:
        if self.running == "tunnel-apply":
            who = "" if message.role == "pair" else f"{message.role}: "
            self.tunnel_lines.append(f"[cyan]…[/] {escape(who + message.text)}")
            self.query_one("#tunnel-progress", Static).update(
                "\n".join(self.tunnel_lines[-10:]))
            return
        if message.step != "firewall":
            return
        self.fw_lines.append(f"[cyan]…[/] {escape(message.text)}")
        self.query_one("#fw-progress", Static).update("\n".join(self.fw_lines[-8:]))

    # -- which fix may go in now ----------------------------------------------------------
    def rules_in_place(self) -> bool:
        return self.state.firewall_ok is True or (
            self.fw_plan is not None and not self.fw_plan.changes)

    def tunnel_in_place(self) -> bool:
        return self.tunnel_up or self.state.tunnel_ok is True or (
            self.tunnel_plan is not None and self.tunnel_plan.in_place)

    def enable_buttons(self) -> None:
        """Both fixes may go in, in either order: the firewall's rules admit failover from
        the partner's tunnel end (the answers' [tunnel]) as well as from its underlay
        address (wizard.ops.firewall_apply.tunnel_address)."""
        fw = self.query_one("#fw-apply", Button)
        fw.disabled = self.running is not None or self.fw_plan is None or self.fw_applied
        tun = self.query_one("#tunnel-apply", Button)
        tun.disabled = self.running is not None or self.tunnel_plan is None or \
            self.tunnel_in_place()
        both = self.fw_plan is not None and self.tunnel_plan is not None
        self.query_one("#fw-why", Static).update(
            "[dim]the rules admit failover from the partner's tunnel end too, so they go "
            "with the tunnel in either order[/dim]" if both else "")
        self.query_one("#tunnel-why", Static).update("")

    # -- the tunnel ------------------------------------------------------------------------
    def plan_tunnel(self) -> None:
        from wizard.flow.protection import routed, untrusted

        results = self.state.protect_checks
        if not (routed(results) or untrusted(results)):
            return
        self.query_one("#tunnel").display = True
        self.run_work("tunnel-plan", "reading WireGuard on both hosts and planning the "
                      "tunnel…", self.app.engine.protect_tunnel_plan, self.state.answers,
                      done=self.done_tunnel_plan, failed=self.failed_tunnel_plan)
        self.enable_buttons()

    def done_tunnel_plan(self, tp) -> None:
        self.tunnel_plan = tp
        lines = [escape(tp.describe(role)) for role in ROLES]
        end = tp.ends["primary"]
        lines.append(f"WireGuard port {end.port}/udp; failover moves from "
                     + ", ".join(f"{r} {tp.underlay[r]} → {tp.ends[r].ip}" for r in ROLES))
        lines += [f"[dim]{escape(n)}[/dim]" for n in getattr(tp.plan, "notes", ())]
        if tp.in_place:
            lines.append("[green]✔ the tunnel is in place and the configs use it[/]")
            self.set_state(self.state.with_(tunnel_ok=True,
                                            tunnel_summary="in place already"))
        self.query_one("#tunnel-plan", Static).update("\n".join(lines))
        self.enable_buttons()

    def failed_tunnel_plan(self, error) -> bool:
        message, fix = error_text(error)
        self.query_one("#tunnel-plan", Static).update(
            f"[yellow]▲ no tunnel can be planned: {escape(message)}[/]"
            + (f"\n    [b]fix:[/b] {escape(fix)}" if fix else ""))
        return True

    @on(Button.Pressed, "#tunnel-apply")
    def ask_tunnel(self) -> None:
        from screens.modals import ConfirmModal

        if self.running or self.tunnel_plan is None or self.query_one("#tunnel-apply").disabled:
            return

        def answer(yes: bool | None) -> None:
            if yes and not self.running:
                self.start_tunnel()
        self.app.push_screen(ConfirmModal(
            "Bring the tunnel up?", "One transaction on both servers: keys made on each host, "
            "the tunnel up, both configs' failover addresses moved onto it, dhcpd restarted, "
            "normal over the tunnel; any failure puts both back. Then the proof drops the "
            "failover ports on the underlay for a while. Clients are served throughout.",
            yes="Bring it up", no="Not now"), answer)

    def start_tunnel(self) -> None:
        self.tunnel_lines = []
        self.query_one("#tunnel-outcome", Static).update("")
        self.app.engine.sink = self.progress_sink
        self.run_work("tunnel-apply", "tunnel transaction and proof running…",
                      self.app.engine.protect_tunnel_apply, self.state.answers,
                      self.tunnel_plan, done=self.done_tunnel, failed=self.failed_tunnel)
        self.enable_buttons()

    def done_tunnel(self, run) -> None:
        mark = "[green]✔" if run.ok else "[red]✘"
        text = f"{mark} {escape(run.message)}[/]"
        if not run.ok and run.stage == "transaction":
            text += ("\n[b]Both servers were put back[/b]: their previous configs, the tunnel "
                     "down and its files removed." if run.rolled_back else
                     "\n[red]The rollback did not complete everywhere: see the session.[/]")
        text += "".join(f"\n  • {escape(n)}" for n in run.notes)
        text += "".join(f"\n  {r}: public key {escape(k)}" for r, k in run.public_keys.items())
        text += "".join(f"\n  {r}: failover " + escape("; ".join(f"{a} <-> {b}" for a, b in c))
                        for r, c in run.sockets.items())
        if run.proof is not None:
            text += "".join(f"\n  [dim]{escape(line)}[/dim]" for line in run.proof.states)
        self.query_one("#tunnel-outcome", Static).update(text)
        # In place after a failed proof too: the tunnel carries failover, unproven.
        self.tunnel_up = run.ok or run.stage == "proof"
        self.set_state(self.state.with_(tunnel_ok=run.ok, tunnel_summary=run.message[:300]))
        self.enable_buttons()
        if self.quit_after:
            self.app.exit(0 if run.ok else 1)

    def failed_tunnel(self, error) -> bool:
        message, fix = error_text(error)
        self.query_one("#tunnel-outcome", Static).update(
            f"[red]✘ {escape(message)}[/]" + (f"\n    [b]fix:[/b] {escape(fix)}" if fix else ""))
        self.set_state(self.state.with_(tunnel_ok=False, tunnel_summary=message))
        self.enable_buttons()
        if self.quit_after:
            self.app.exit(1)
        return True

    def done_apply(self, outcome) -> None:
        mark = "[green]✔" if outcome.ok else "[red]✘"
        text = f"{mark} {escape(headline(outcome.message, outcome.probes))}[/]"
        if outcome.probes:
            text += "\n[b]Probes[/b]\n" + probes_markup(outcome.probes)
        self.query_one("#fw-outcome", Static).update(text)
        self.query_one("#admin", Input).disabled = False
        self.fw_applied = outcome.ok
        self.set_state(self.state.with_(firewall_ok=outcome.ok,
                                        firewall_summary=outcome.message[:300]))
        self.enable_buttons()
        if self.quit_after:
            self.app.exit(0 if outcome.ok else 1)

    def failed_apply(self, error) -> bool:
        message, fix = error_text(error)
        self.query_one("#fw-outcome", Static).update(
            f"[red]✘ {escape(message)}[/]" + (f"\n    [b]fix:[/b] {escape(fix)}" if fix else "")
            + "\n[b]Whatever was armed on a host has been put back[/b] (its watchdog does it "
            "by itself if the wizard could not).")
        self.query_one("#admin", Input).disabled = False
        self.set_state(self.state.with_(firewall_ok=False, firewall_summary=message))
        self.enable_buttons()
        if self.quit_after:
            self.app.exit(1)
        return True

    # -- the bad day: quit, Ctrl+C, a signal while the rules go in --------------------------
    def hold_quit(self, signum: int | None = None) -> bool:
        """True when this screen takes the quit over: rules or the tunnel are going in."""
        if self.running == "fw-apply":
            timeout = self.fw_plan.job.timeout if self.fw_plan is not None else 60
            return self._hold_quit(
                signum, "the firewall apply", "Firewall rules are going in",
                "Quitting now stops before the rules are confirmed: the wizard puts back "
                "what it armed, then quits. Should this wizard die first, each host's "
                f"watchdog puts its old rules back by itself {timeout:g} s after arming "
                "them. Rules already confirmed stay and are verified first.",
                "Put back and quit",
                "Stopping: rules not yet confirmed are put back now; the wizard quits when "
                "that is done.")
        if self.running == "tunnel-apply":
            return self._hold_quit(
                signum, "the tunnel", "The tunnel is going in",
                "Quitting now rolls the transaction back: both servers get their previous "
                "configs, the tunnel is taken down and its files removed, dhcpd restarted; "
                "the wizard quits when both run it. During the proof, the drop on the "
                "underlay is removed (a timer on each host removes it by itself should the "
                "wizard die). Once the transaction has committed, the tunnel stays.",
                "Roll back and quit",
                "Stopping: both servers are put back on the underlay (their previous "
                "configs, the tunnel down); the wizard quits when they run it.")
        return False

    def _hold_quit(self, signum: int | None, during: str, title: str, text: str, yes: str,
                   stopping: str) -> bool:
        """A signal stops the running apply at once; a quit asks first. Either way the
        worker puts back what it armed, and the app quits when that is done."""
        from screens.modals import ConfirmModal

        running = self.running

        def stop(reason: str, signal: int | None = None) -> None:
            self.quit_after = True
            self.app.end_status = "interrupted" if signal else "cancelled"
            self.token.cancel(reason, "interrupted" if signal else "cancelled", signal)
            self.notify(stopping, timeout=10)

        if signum is not None:
            from wizard.interrupt import SIGNALS

            stop(f"interrupted by {SIGNALS.get(signum, f'signal {signum}')}", signum)
            return True
        # Asked while the apply ran; answered, it may have ended by itself meanwhile.
        self.app.push_screen(ConfirmModal(title, text, yes=yes, no="Keep going"),
                             lambda ok: stop(f"cancelled: the operator quit during {during}")
                             if ok and self.running == running else None)
        return True
