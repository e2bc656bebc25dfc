"""The protection step's tunnel on the routed lab: a deployed pair (short timers), the wizard
started at the step, the tunnel brought up from the screen; what the hosts run is read from
the namespaces by this test (ss, omshell), not from the wizard."""

from __future__ import annotations

import asyncio
import re

import pytest

from screens.app import WizardApp
from tests.conftest import run_cli
from tests.helpers.tui import answer, plain, until
from tests.lab.test_protect_tunnel import MRD, ROLES, has_link, normal_over
from tests.lab.test_tui_lab import SIZE
from wizard.answers import load_answers
from wizard.flow.steps import WizardState, gate
from wizard.lab import lifecycle
from wizard.record.session import read_events

pytestmark = pytest.mark.lab


@pytest.fixture(scope="module")
def deployed(routed_lab, routed_spec, tmp_path_factory):
    lifecycle.down(routed_spec, progress=lambda _m: None)
    lifecycle.up(routed_spec, progress=lambda _m: None)
    base = tmp_path_factory.mktemp("tui-tunnel")
    answers = base / "answers.toml"
    answers.write_text(re.sub(r"(?m)^max_response_delay = \d+", f"max_response_delay = {MRD}",
                              routed_spec.answers_path.read_text()))
    proc = run_cli("deploy", "--answers", str(answers), "--yes", "--accept", "ntp",
                   "--no-drill", "--settle", "0", "--session", str(base / "deploy"), timeout=120)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr
    yield answers, base
    # The next module expects the lab as built, without the tunnel.
    lifecycle.down(routed_spec, progress=lambda _m: None)
    lifecycle.up(routed_spec, progress=lambda _m: None)


def test_the_tunnel_from_the_protection_step(deployed, routed_spec):
    answers_path, base = deployed
    answers = load_answers(answers_path)
    secret = (routed_spec.state_dir / "omapi.secret").read_text().strip()
    tunnel = {a.split("/")[0] for a in routed_spec.tunnel_addresses}
    app = WizardApp(answers, session_dir=str(base / "session"), start="protect",
                    state=WizardState(answers, apply_started=True, apply_ok=True,
                                      drill_passed=True))

    async def walk():
        async with app.run_test(size=SIZE) as pilot:
            screen = app.screen
            assert await until(pilot, lambda: screen.tunnel_plan is not None
                               and screen.running is None, 40), \
                plain(screen.query_one("#tunnel-plan"))
            plan = plain(screen.query_one("#tunnel-plan"))
            assert "wireguard-go" in plan and "wg-dhcp" in plan, plan
            screen.query_one("#tunnel-apply").press()
            assert await until(pilot, lambda: type(app.screen).__name__ == "ConfirmModal")
            await answer(pilot, app, "yes")
            assert await until(pilot, lambda: screen.state.tunnel_ok is not None, 120)
            outcome = plain(screen.query_one("#tunnel-outcome"))
            assert screen.state.tunnel_ok, outcome
            assert "public key" in outcome and "normal over the tunnel" in outcome
            progress = plain(screen.query_one("#tunnel-progress"))    # live, the last lines
            assert "both normal" in progress and "drop removed" in progress, progress
            # The firewall's rules admit failover from the partner's tunnel end: still
            # offered beside the tunnel (headless, both together: test_protect_tunnel.py).
            assert not screen.query_one("#fw-apply").disabled
            assert "protect-tunnel" not in [w.key for w in gate("protect", screen.state).warnings]
            await pilot.press("ctrl+q")
    asyncio.run(walk())
    # The test's own look at the hosts: normal, failover between the tunnel addresses only.
    assert all(has_link(routed_spec, r) for r in ROLES)
    assert normal_over(routed_spec, secret, tunnel)
    events = read_events(base / "session")
    kinds = [(e["step"], e["kind"]) for e in events]
    assert ("tunnel", "keys") in kinds and ("tunnel", "proof") in kinds
    proof = [e for e in events if (e["step"], e["kind"]) == ("tunnel", "proof")][0]["data"]
    assert proof["ok"] and proof["held"] > MRD
    assert secret not in (base / "session" / "events.jsonl").read_text()
