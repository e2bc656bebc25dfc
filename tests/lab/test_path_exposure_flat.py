"""Issue 15's path and exposure on the flat lab (root login): the peers share one segment,
and the client segment, which is that same segment, reaches both ports."""

from __future__ import annotations

import json

import pytest

from tests.conftest import run_cli

pytestmark = pytest.mark.lab


def test_one_segment_and_the_client_reaches_the_ports(lab, lab_spec, tmp_path):
    proc = run_cli("check", "--answers", str(lab_spec.answers_path), "--json", "--session",
                   str(tmp_path / "s"))
    report = json.loads(proc.stdout)
    path = {c["host"]: c for c in report["checks"] if c["id"] == "path"}
    for role, other in (("primary", "secondary"), ("secondary", "primary")):
        assert path[role]["status"] == "pass", path[role]
        assert "one segment, 1 hop (tracepath)" in path[role]["detail"]
        assert (f"{lab_spec.address(other)} is inside {role}'s subnet {lab_spec.network}"
                in path[role]["detail"])
    client = [c for c in report["checks"] if c["id"] == "exposure"
              and c["host"] == f"lab client {lab_spec.netns('client')}"]
    assert len(client) == 4 and all(c["status"] == "fail" for c in client), client
    assert proc.returncode == 0 and report["ok"] is True     # not blocking a deployment
    human = run_cli("check", "--answers", str(lab_spec.answers_path), "--session",
                    str(tmp_path / "s2"))
    assert "FAIL  exposure [lab client" in human.stdout
    assert "4 failed (exposure: not blocking a deployment, see the fixes)" in human.stdout
    assert {c["id"] for c in report["checks"] if c["status"] == "fail"} == {"exposure"}
