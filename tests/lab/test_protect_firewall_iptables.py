"""`protect firewall` on iptables hosts in the lab: both peers run iptables-legacy rules
loaded from /etc/iptables/rules.v4 (iptables-persistent's layout); the secondary's file is
taken away, so it shows the runtime-only case. Apply, verify and persist (a reload of
rules.v4 as at boot gives the same rules), the watchdog's rollback, removal; the
host's own rules never flushed or reordered."""

from __future__ import annotations

import json
import subprocess
import time

import pytest

from tests.conftest import TEST_LAB_NAME, TEST_LAB_SUBNET, run_cli

pytestmark = pytest.mark.lab


@pytest.fixture(scope="module")
def ipt_spec():
    from wizard.lab.spec import LabSpec

    return LabSpec(name=TEST_LAB_NAME, subnet=TEST_LAB_SUBNET, firewall_primary="iptables",
                   firewall_secondary="iptables", root_login=False)


@pytest.fixture(scope="module")
def ipt_lab(_lab_session, ipt_spec):
    from wizard.lab import lifecycle

    st = lifecycle.up(ipt_spec, progress=lambda _m: None)
    in_host(ipt_spec, "secondary", "rm", "-f", "/etc/iptables/rules.v4")
    return st


def in_host(spec, role, *argv):
    from wizard.lab.namespaces import host_command

    return subprocess.run(host_command(spec, role, list(argv)), capture_output=True, text=True,
                          timeout=20)


def filter_rules(spec, role) -> list[str]:
    """The filter table's chains and rules, without counters or time stamps."""
    out = in_host(spec, role, "iptables-legacy-save", "-t", "filter").stdout
    return [line.split(" [")[0] if line.startswith(":") else line
            for line in out.splitlines() if not line.startswith("#")]


def hosts_own(spec, role) -> list[str]:
    return [line for line in filter_rules(spec, role) if "DHCP-WIZARD" not in line]


def tcp_from_client(spec, address, port) -> str:
    from wizard.lab.probe import LabVantage

    return LabVantage(spec.name).tcp(address, port)


def protect(spec, tmp_path, name, *extra):
    return run_cli("protect", "firewall", "--answers", str(spec.answers_path), "--yes",
                   "--confirm-timeout", "5", *extra, "--session", str(tmp_path / name))


def test_apply_verify_persist_as_iptables_persistent(ipt_lab, ipt_spec, tmp_path):
    own = {r: hosts_own(ipt_spec, r) for r in ("primary", "secondary")}
    res = protect(ipt_spec, tmp_path, "s")
    assert res.returncode == 0, res.stdout + res.stderr
    assert "+-A DHCP-WIZARD ! -s " in res.stdout                         # the diff came first
    assert "primary: persisted in /etc/iptables/rules.v4" in res.stdout
    assert "secondary: runtime only (no /etc/iptables/rules.v4" in res.stdout
    for role, other in (("primary", "secondary"), ("secondary", "primary")):
        rules = filter_rules(ipt_spec, role)
        inputs = [line for line in rules if line.startswith("-A INPUT")]
        assert inputs[0] == "-A INPUT -m comment --comment dhcp-wizard -j DHCP-WIZARD"
        assert f"! -s {ipt_spec.address(other)}/32" in "\n".join(rules)
        assert hosts_own(ipt_spec, role) == own[role]          # not flushed, not reordered
        assert tcp_from_client(ipt_spec, ipt_spec.address(role), 7911) == "timeout"
        assert tcp_from_client(ipt_spec, ipt_spec.address(role), 22) == "open"
    # As at boot: netfilter-persistent restores rules.v4 whole; the same rules come back.
    running = filter_rules(ipt_spec, "primary")
    boot = in_host(ipt_spec, "primary", "sh", "-c",
                   "iptables-legacy-restore < /etc/iptables/rules.v4")
    assert boot.returncode == 0, boot.stderr
    assert filter_rules(ipt_spec, "primary") == running
    events = [json.loads(line) for line in (tmp_path / "s" / "events.jsonl").open()]
    arts = {e["data"]["name"]: e["data"] for e in events if e["kind"] == "artifact"}
    before, after = arts["firewall-primary-before.iptables"], arts["firewall-primary-after.iptables"]
    assert before["sha256_ruleset"] != after["sha256_ruleset"]
    assert "# BEGIN dhcp-wizard" in (tmp_path / "s" / "artifacts" /
                                     "firewall-primary-after.iptables").read_text()
    # A re-run with the same plan ("already in place") is the nft and firewalld module's,
    # and the iptables side of it (digest, jump first) a unit test's: not run again here.


def test_watchdog_restores_the_filter_table_and_rules_v4(ipt_lab, ipt_spec, tmp_path):
    before = filter_rules(ipt_spec, "primary")
    v4 = in_host(ipt_spec, "primary", "cat", "/etc/iptables/rules.v4").stdout
    start = time.monotonic()
    res = protect(ipt_spec, tmp_path, "s", "--test-cut-ssh", "primary")
    assert res.returncode == 1, res.stdout + res.stderr
    assert "primary: restored (as before)" in res.stdout
    assert time.monotonic() - start < 30
    assert filter_rules(ipt_spec, "primary") == before
    assert in_host(ipt_spec, "primary", "cat", "/etc/iptables/rules.v4").stdout == v4


def test_remove_leaves_the_hosts_own_rules_and_is_idempotent(ipt_lab, ipt_spec, tmp_path):
    own = hosts_own(ipt_spec, "primary")
    res = run_cli("protect", "firewall", "--answers", str(ipt_spec.answers_path), "--yes",
                  "--remove", "--session", str(tmp_path / "s"))
    assert res.returncode == 0, res.stdout + res.stderr
    assert "--- : /etc/iptables/rules.v4 (now)" in res.stdout and "removed and checked" in \
        res.stdout
    for role in ("primary", "secondary"):
        assert not any("DHCP-WIZARD" in line for line in filter_rules(ipt_spec, role))
        assert tcp_from_client(ipt_spec, ipt_spec.address(role), 7911) in ("open", "refused")
    assert filter_rules(ipt_spec, "primary") == own
    v4 = in_host(ipt_spec, "primary", "cat", "/etc/iptables/rules.v4").stdout
    assert "DHCP-WIZARD" not in v4 and "BEGIN dhcp-wizard" not in v4
    from wizard.lab.lifecycle import iptables_rules_v4

    assert v4 == iptables_rules_v4()                       # the file as the host had it
    res = run_cli("protect", "firewall", "--answers", str(ipt_spec.answers_path), "--yes",
                  "--remove", "--session", str(tmp_path / "s2"))
    assert res.returncode == 0 and "nothing to remove" in res.stdout, res.stdout + res.stderr
