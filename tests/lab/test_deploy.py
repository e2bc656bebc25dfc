"""deploy, drill and check as a user runs them, on the real lab (issue 5's "done when")."""

from __future__ import annotations

import json
import re
import subprocess

import pytest

from tests.helpers.apply import fresh
from tests.conftest import run_cli
from wizard.lab.client import lease
from wizard.record.session import read_events

pytestmark = pytest.mark.lab


def omshell_states(spec, role: str, secret: str, name: str) -> tuple[int, int]:
    """local-state and partner-state as ISC's own omshell reports them."""
    script = (f"server {spec.address(role)}\nport 7911\nkey omapi_key {secret}\nconnect\n"
              f'new failover-state\nset name = "{name}"\nopen\n')
    out = subprocess.run(["omshell"], input=script, capture_output=True, text=True,
                         timeout=20).stdout
    get = lambda k: int(re.search(rf"^{k} = ([0-9a-f:]+)$", out, re.M).group(1)  # noqa: E731
                        .replace(":", ""), 16)
    return get("local-state"), get("partner-state")


def test_plan_reads_both_live_configs_over_ssh_and_changes_nothing(lab, lab_spec, tmp_path):
    answers = fresh(lab_spec)
    before = {r: (lab_spec.host_dir(r) / "etc-dhcp" / "dhcpd.conf").read_text()
              for r in ("primary", "secondary")}
    proc = run_cli("plan", "--answers", str(lab_spec.answers_path), "--out", str(tmp_path))
    assert proc.returncode == 0, proc.stderr
    assert "running dhcpd" in proc.stderr  # where each config path came from
    assert proc.stdout.count('+failover peer "failover-partner" {') == 2
    assert "+\tmclt 30;" in proc.stdout and "***REDACTED***" in proc.stdout
    secret = open(answers.omapi.secret_file).read().strip()
    assert secret not in proc.stdout and secret in (tmp_path / "primary.conf").read_text()
    assert before == {r: (lab_spec.host_dir(r) / "etc-dhcp" / "dhcpd.conf").read_text()
                      for r in ("primary", "secondary")}


@pytest.fixture(scope="module")
def deployed(lab, lab_spec, tmp_path_factory):
    answers = fresh(lab_spec)
    session = tmp_path_factory.mktemp("deploy") / "session"
    proc = run_cli("deploy", "--answers", str(lab_spec.answers_path), "--yes", "--accept", "ntp",
                   "--session", str(session), timeout=300)
    return answers, proc, session


def test_deploy_turns_the_plain_pair_into_failover_and_drills_it(deployed, lab_spec):
    answers, proc, session = deployed
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr
    out = proc.stdout
    for heading in ("Steps 1-4", "Steps 5-7", "Step 8", "Steps 9-10"):
        assert f"== {heading}" in out
    assert "DONE: drill passed: the survivor served a real client" in out
    secret = open(answers.omapi.secret_file).read().strip()
    assert secret not in out
    for role in ("primary", "secondary"):
        assert omshell_states(lab_spec, role, secret, answers.failover.name) == (2, 2)
    got = lease(lab_spec, new_client=True, timeout=15)
    assert got.server in (lab_spec.address("primary"), lab_spec.address("secondary"))
    # The evidence: every sub-step recorded, configs hashed, the secret nowhere.
    events = read_events(session)
    kinds = {(e["step"], e["kind"]) for e in events}
    for expected in (("apply", "validated"), ("apply", "switched"), ("apply", "restarted"),
                     ("apply", "committed"), ("drill", "result"), ("session", "end")):
        assert expected in kinds
    # --accept ntp is recorded as the wizard's tick box records it: the step, the key, the text.
    accepted = [e["data"] for e in events if e["kind"] == "override"]
    assert [(e["step"], e["kind"]) for e in events if e["kind"] == "override"] == [
        ("clock", "override")]
    assert accepted[0]["accepted"] == ["ntp"] and len(accepted[0]["warnings"]) == 2
    artifacts = [e for e in events if e["kind"] == "artifact"]
    assert len(artifacts) >= 4 and all(len(e["data"]["sha256"]) == 64 for e in artifacts)
    on_disk = "".join(p.read_text() for p in (session / "artifacts").iterdir())
    assert secret not in on_disk and secret not in (session / "events.jsonl").read_text()


def test_deploy_refuses_an_unaccepted_warning_before_changing_anything(lab, lab_spec):
    """The lab's chrony has no upstream: a warning the wizard's clock step asks about, so
    deploy asks too, by name, and changes nothing until it is accepted."""
    before = confs(lab_spec)
    proc = run_cli("deploy", "--answers", str(lab_spec.answers_path), "--yes", "--no-drill")
    assert proc.returncode == 1, proc.stdout[-2000:]
    assert "need your decision" in proc.stdout and "--accept ntp" in proc.stdout
    assert "== Steps 5-7" not in proc.stdout
    assert confs(lab_spec) == before


def confs(spec) -> dict[str, str]:
    return {r: (spec.host_dir(r) / "etc-dhcp" / "dhcpd.conf").read_text() for r in ("primary", "secondary")}


def test_deploy_again_changes_nothing_and_passes(deployed, lab_spec):
    _answers, first, _session = deployed
    assert first.returncode == 0
    confs = {r: (lab_spec.host_dir(r) / "etc-dhcp" / "dhcpd.conf").read_text()
             for r in ("primary", "secondary")}
    proc = run_cli("deploy", "--answers", str(lab_spec.answers_path), "--yes", "--accept", "ntp",
                   "--no-drill")
    assert proc.returncode == 0, proc.stdout[-2000:]
    assert "nothing to change" in proc.stdout and "both peers are normal" in proc.stdout
    assert confs == {r: (lab_spec.host_dir(r) / "etc-dhcp" / "dhcpd.conf").read_text()
                     for r in ("primary", "secondary")}


def test_check_of_the_deployed_pair_reads_failover_state(deployed, lab_spec):
    proc = run_cli("check", "--answers", str(lab_spec.answers_path), "--json")
    report = json.loads(proc.stdout)
    assert proc.returncode == 0 and report["ok"], proc.stdout
    state = [c for c in report["checks"] if c["id"] == "failover-state"]
    assert state and all(c["status"] == "pass" for c in state)
    assert "normal" in " ".join(c["detail"] for c in state)


def test_drill_command_passes_and_leaves_both_normal(deployed, lab_spec, tmp_path):
    answers, first, _session = deployed
    assert first.returncode == 0
    # This time the proof of service comes from the wizard host itself, on the lab segment,
    # as it would on a real network where the admin host sits on a served VLAN.
    text = lab_spec.answers_path.read_text().replace(
        f'probe = "lab:{lab_spec.name}"', f'probe = "local:{lab_spec.bridge}"')
    local = tmp_path / "answers.toml"
    local.write_text(text)
    proc = run_cli("drill", "--answers", str(local), timeout=300)
    assert proc.returncode == 0, proc.stdout[-2000:]
    assert "PASSED" in proc.stdout
    assert f"a DHCP client on this host ({lab_spec.bridge}) got" in proc.stdout
    assert f"from {lab_spec.address('secondary')}" in proc.stdout
    secret = open(answers.omapi.secret_file).read().strip()
    for role in ("primary", "secondary"):
        assert omshell_states(lab_spec, role, secret, answers.failover.name) == (2, 2)


def test_drill_without_a_probe_finds_this_host_on_the_served_segment(deployed, lab_spec,
                                                                      tmp_path):
    """No [drill] probe: the wizard host has a leg on the lab's served subnet (its bridge),
    so it proves service itself, and says that it found itself."""
    answers, first, _session = deployed
    assert first.returncode == 0
    text = re.sub(r'(?m)^probe = .*\n', "", lab_spec.answers_path.read_text())
    path = tmp_path / "answers.toml"
    path.write_text(text)
    proc = run_cli("drill", "--answers", str(path), timeout=300)
    assert proc.returncode == 0, proc.stdout[-2000:]
    assert f"a DHCP client on this host ({lab_spec.bridge}, which sits on the served subnet " \
           f"{lab_spec.subnet}; found by itself" in proc.stdout
    assert f"from {lab_spec.address('secondary')}" in proc.stdout and "PASSED" in proc.stdout


def test_deploy_without_yes_and_without_a_terminal_changes_nothing(lab, lab_spec):
    fresh(lab_spec)
    before = (lab_spec.host_dir("primary") / "etc-dhcp" / "dhcpd.conf").read_text()
    proc = run_cli("deploy", "--answers", str(lab_spec.answers_path), "--accept", "ntp")
    assert proc.returncode == 2 and "--yes" in proc.stderr
    assert before == (lab_spec.host_dir("primary") / "etc-dhcp" / "dhcpd.conf").read_text()
