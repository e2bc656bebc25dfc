"""verify and report on recorded sessions: tampering of every kind is caught."""

from __future__ import annotations

import json
import os

import pytest

from tests.conftest import run_cli
from wizard.record.evidence import verify
from wizard.record.session import Session

CONF = 'key k {\n  algorithm hmac-md5;\n  secret "c2VjcmV0LXNlY3JldC1zZWNyZXQ=";\n}\n'


@pytest.fixture
def session_dir(tmp_path):
    s = Session.create(tmp_path / "s", command="deploy")
    s.event("check", "result", host="primary", id="ssh", status="pass", detail="root@x:22")
    s.artifact("primary.before.conf", "subnet 198.51.100.0 netmask 255.255.255.0 {}\n",
               step="plan", host="primary", path="/etc/dhcp/dhcpd.conf")
    s.artifact("primary.after.conf", CONF, step="plan", host="primary",
               path="/etc/dhcp/dhcpd.conf")
    s.event("apply", "switched", host="primary", message="/etc/dhcp/dhcpd.conf is the new config")
    s.close()
    return tmp_path / "s"


def test_a_fresh_session_verifies_and_has_its_report(session_dir):
    events, problems = verify(session_dir)
    assert problems == [] and len(events) == 6
    md = (session_dir / "report.md").read_text()
    assert "complete and untampered" in md and "primary.after.conf" in md
    assert "| pass | ssh | primary | root@x:22 |" in md
    assert "<h2>Apply</h2>" in (session_dir / "report.html").read_text()
    assert "c2VjcmV0" not in md + (session_dir / "report.html").read_text()


def test_an_edited_event_breaks_the_chain(session_dir):
    path = session_dir / "events.jsonl"
    lines = path.read_text().splitlines()
    ev = json.loads(lines[1])
    ev["data"]["status"] = "fail"
    lines[1] = json.dumps(ev, sort_keys=True)
    path.write_text("\n".join(lines) + "\n")
    _, problems = verify(session_dir)
    assert any("line 3: the hash chain breaks" in p for p in problems)


def test_a_removed_event_and_a_missing_end_are_named(session_dir):
    path = session_dir / "events.jsonl"
    lines = path.read_text().splitlines()
    path.write_text("\n".join(lines[:2] + lines[3:-1]) + "\n")
    _, problems = verify(session_dir)
    assert any("sequence number" in p for p in problems)
    assert any("has no end" in p for p in problems)


def test_changed_extra_and_unmasked_artifacts_are_named(session_dir):
    art = session_dir / "artifacts"
    (art / "primary.before.conf").write_text("subnet 203.0.113.0 netmask 255.255.255.0 {}\n")
    (art / "primary.after.conf").write_text(CONF.replace('"c2VjcmV0LXNlY3JldC1zZWNyZXQ="',
                                                         "bGVha2VkLXNlY3JldA=="))
    (art / "planted.conf").write_text("x")
    _, problems = verify(session_dir)
    assert "artifact primary.before.conf does not match the sha256 recorded for it" in problems
    assert "artifact primary.after.conf holds an unmasked `secret` statement" in problems
    assert "artifacts/planted.conf was not recorded by the session" in problems


def test_cli_verify_and_report(session_dir, tmp_path):
    ok = run_cli("verify", str(session_dir))
    assert ok.returncode == 0 and ok.stdout.startswith("VERIFIED: 6 events")
    (session_dir / "report.md").unlink()
    rebuilt = run_cli("report", str(session_dir))
    assert rebuilt.returncode == 0 and (session_dir / "report.md").exists()
    (session_dir / "artifacts" / "primary.before.conf").write_text("changed\n")
    bad = run_cli("verify", str(session_dir))
    assert bad.returncode == 1 and "NOT VERIFIED" in bad.stdout
    nothing = run_cli("verify", str(tmp_path / "nowhere"))
    assert nothing.returncode == 2 and "not a session directory" in nothing.stderr


def test_the_closing_report_trusts_only_its_own_writes_and_verify_reads_every_byte(tmp_path):
    s = Session.create(tmp_path / "s", command="plan")
    target = s.artifact("a.conf", "subnet 198.51.100.0 netmask 255.255.255.0 {}\n", step="plan")
    written = target.stat().st_mtime_ns
    # Changed behind the recorder's back, size kept: its report reads the file again. (A
    # coarse file clock may give the rewrite the same time; a real edit comes later.)
    target.write_text("subnet 203.0.113.0 netmask 255.255.255.0 { }\n")
    os.utime(target, ns=(written, written + 5_000_000))
    s.close()
    assert "PROBLEMS" in (tmp_path / "s" / "report.md").read_text()
    # Even with its time forged back, `verify` (what an auditor runs) reads every byte.
    os.utime(target, ns=(written, written))
    assert any("does not match" in p for p in verify(tmp_path / "s")[1])
