"""The TUI walk on the routed lab (issue 13): a Debian primary and a RHEL-layout secondary on
two sites, the sudo user alone, the client behind the relay; through apply and the drill, then
the protection step (issue 15): the firewall rules applied from the screen and proven by
probes of the test's own, the tunnel skipped and the skip recorded."""

from __future__ import annotations

import asyncio
import subprocess

import pytest

from screens.app import WizardApp
from tests.conftest import run_cli
from tests.helpers.tui import click, plain, until
from tests.lab.test_tui_lab import SIZE, forward
from wizard.answers import load_answers
from wizard.lab import lifecycle
from wizard.lab.namespaces import host_command
from wizard.lab.probe import LabVantage
from wizard.ops.firewall_apply import local_probe, probe_script
from wizard.record.session import read_events

pytestmark = pytest.mark.lab


def test_the_whole_guide_on_the_routed_lab_through_apply_and_drill(routed_lab, routed_spec,
                                                                   tmp_path):
    lifecycle.down(routed_spec, progress=lambda _m: None)   # the plain baseline again
    lifecycle.up(routed_spec, progress=lambda _m: None)
    answers = load_answers(routed_spec.answers_path)
    app = WizardApp(answers, session_dir=str(tmp_path / "session"))

    async def walk():
        async with app.run_test(size=SIZE) as pilot:
            await forward(pilot, app, "ServersScreen")
            assert await until(pilot, lambda: app.screen.state.checked, 30)
            assert "isc-dhcp-server" in plain(app.screen.query_one("#primary-facts"))
            secondary = plain(app.screen.query_one("#secondary-facts"))
            assert "Rocky Linux" in secondary and "dhcpd.service" in secondary
            await forward(pilot, app, "ClockScreen")
            assert await until(pilot, lambda: app.screen.state.skew is not None, 30)
            await pilot.pause()
            await click(pilot, app, "#override")   # the lab's chronyds have no upstream
            await forward(pilot, app, "NetworksScreen")
            assert await until(pilot, lambda: bool(app.screen.state.networks), 30)
            assert str(routed_spec.served_network) in [n.cidr for n in app.screen.state.chosen()]
            await forward(pilot, app, "ElementsScreen")
            await forward(pilot, app, "SettingsScreen")
            await forward(pilot, app, "ReviewScreen")
            assert await until(pilot, lambda: app.screen.state.plan_ready, 30)
            app.screen.query_one("#confirm").value = True
            await forward(pilot, app, "ApplyScreen")
            assert await until(pilot, lambda: app.screen.state.apply_ok is not None, 120)
            assert app.screen.state.apply_ok, plain(app.screen.query_one("#outcome"))
            await forward(pilot, app, "DrillScreen")
            await pilot.press("ctrl+r")
            assert await until(pilot, lambda: app.screen.state.drill_passed is not None, 180)
            assert app.screen.state.drill_passed, plain(app.screen.query_one("#outcome"))
            steps = plain(app.screen.query_one("#steps"))
            assert routed_spec.netns("client") in steps or "from " in steps   # via the relay
            await forward(pilot, app, "ProtectScreen")
            await protect(pilot, app, routed_spec)
            await forward(pilot, app, "DoneScreen")
            await pilot.press("ctrl+n")
    try:
        asyncio.run(walk())
        reach = omapi_from_everywhere(routed_spec)
        # Only the admin address (this host, as the servers see it) reaches OMAPI now; the
        # client segment and the partner are dropped (timeout), on both peers.
        assert all(reach[(r, "wizard")] in ("open", "refused") for r in ("primary", "secondary")), reach
        assert all(v == "timeout" for (r, src), v in reach.items() if src != "wizard"), reach
        events = read_events(tmp_path / "session")
        done = [e for e in events if (e["step"], e["kind"]) == ("protect", "done")]
        assert len(done) == 1 and done[0]["data"]["ok"], done
        probes = [e for e in events if e["kind"] == "probes"][-1]["data"]["probes"]
        assert probes and all(p["ok"] for p in probes)
        names = {e["data"].get("name") for e in events if e["kind"] == "artifact"}
        assert {"firewall-primary-before.nft", "firewall-primary-after.nft",
                "firewall-secondary-plan.diff"} <= names
        skip = [e for e in events if (e["step"], e["kind"]) == ("protect", "override")]
        assert skip and skip[0]["data"]["accepted"] == ["protect-tunnel"], skip
        verified = run_cli("verify", str(tmp_path / "session"))
        assert verified.returncode == 0, verified.stdout + verified.stderr
    finally:
        # The next module expects the lab as built, without our table or its persisted block.
        lifecycle.down(routed_spec, progress=lambda _m: None)
        lifecycle.up(routed_spec, progress=lambda _m: None)


async def protect(pilot, app, spec):
    """On the protection step: the checks' findings, the planned diff, Apply, the probes;
    then the tunnel's warning skipped by the tick box."""
    assert await until(pilot, lambda: not app.screen.query_one("#fw-apply").disabled, 40), \
        plain(app.screen.query_one("#fw-outcome"))
    found = plain(app.screen.query_one("#found"))
    assert "routed" in found and "round trip" in found and "path MTU" in found, found
    assert "nftables" in found or "none" in found
    diff = plain(app.screen.query_one("#primary-fw-diff"))
    # The partner's underlay address, and its tunnel end (the lab's answers set [tunnel]).
    tunnel_end = spec.tunnel_addresses[1].split("/")[0]
    assert f"tcp dport 519 ip saddr != {{ {spec.address('secondary')}, {tunnel_end} }} drop" \
        in diff, diff
    gate = plain(app.screen.query_one("#gate"))
    assert "not tunnelled" in gate and "firewall rules" in gate, gate
    await pilot.press("ctrl+r")
    assert await until(pilot, lambda: app.screen.state.firewall_ok is not None, 60)
    outcome = plain(app.screen.query_one("#fw-outcome"))
    assert app.screen.state.firewall_ok, outcome
    assert "applied and verified" in outcome and "persisted" in outcome, outcome
    gate = plain(app.screen.query_one("#gate"))
    assert "firewall rules" not in gate and "not tunnelled" in gate, gate
    await click(pilot, app, "#override")


def omapi_from_everywhere(spec) -> dict:
    """(target role, vantage) -> outcome of a TCP connect to its OMAPI port, probed by the
    test itself: this host, the partner, the client segment behind the relay."""
    out = {}
    port = load_answers(spec.answers_path).omapi.port
    client = LabVantage(spec.name)
    for role, other in (("primary", "secondary"), ("secondary", "primary")):
        address = spec.address(role)
        out[(role, "wizard")] = local_probe(address, port)
        out[(role, "client")] = client.tcp(address, port)
        res = subprocess.run(host_command(spec, other, ["sh", "-c", probe_script(address, port)]),
                             capture_output=True, text=True, timeout=20)
        out[(role, other)] = res.stdout.strip()
    return out


def test_a_cancel_between_the_hosts_puts_the_first_back_and_never_arms_the_second(
        routed_lab, routed_spec, tmp_path):
    """The TUI's quit during the apply, on real nft: the token is set the moment the primary's
    rules went in; the primary is put back at once, the secondary never touched."""
    from wizard.flow.deployment import Deployment
    from wizard.flow.protection import Cancelled, apply_firewall, plan_firewall
    from wizard.interrupt import CancelToken
    from wizard.record.session import Session

    def table(role) -> str:
        return subprocess.run(host_command(routed_spec, role, ["nft", "list", "table", "inet",
                                                               "dhcp_wizard"]),
                              capture_output=True, text=True, timeout=20).stdout

    before = {r: table(r) for r in ("primary", "secondary")}
    token = CancelToken()
    during: dict[str, str] = {}
    session = Session.create(str(tmp_path / "s"), command="tui")
    record = session.event

    def event(step, kind, host=None, **data):
        record(step, kind, host, **data)
        if (step, kind, host) == ("protect", "applied", "primary"):
            during["primary"] = table("primary")
            token.cancel("cancelled: the operator quit during the firewall apply")
    session.event = event
    with Deployment(load_answers(routed_spec.answers_path), session) as d:
        plan = plan_firewall(d, confirm_timeout=20, cancel=token)
        assert plan.changes
        with pytest.raises(Cancelled, match="quit during the firewall apply"):
            apply_firewall(plan)
    session.close("cancelled")
    assert "OMAPI only from the admin addresses" in during["primary"]    # it was in
    assert {r: table(r) for r in ("primary", "secondary")} == before
    events = [(e["kind"], e["host"]) for e in read_events(tmp_path / "s")
              if e["step"] == "protect"]
    assert ("restored", "primary") in events and ("cancelled", None) in events
    assert ("watchdog-armed", "secondary") not in events and ("done", None) in events
