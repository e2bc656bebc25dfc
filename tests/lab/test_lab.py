"""The built-in lab against its real daemons: SSH, private files, dhcpd, the DHCP client."""

from __future__ import annotations

import ipaddress
import json
import re
import subprocess

import paramiko
import pytest

from tests.conftest import TEST_LAB_NAME, run_cli
from tests.helpers.lab import sh, ssh
from wizard.errors import InputError
from wizard.lab.client import lease
from wizard.lab import lifecycle
from wizard.lab import namespaces as ns
from wizard.lab.spec import LabSpec

pytestmark = pytest.mark.lab


def test_both_hosts_answer_ssh_with_verified_host_keys(lab, lab_spec):
    for role in ("primary", "secondary"):
        client = ssh(lab_spec, role)
        code, out, _ = sh(client, "ip -4 -o addr show dev eth0")
        client.close()
        assert code == 0 and f"{lab_spec.address(role)}/{lab_spec.network.prefixlen}" in out


def test_unknown_host_key_is_refused(lab, lab_spec, tmp_path):
    empty = tmp_path / "known_hosts"
    empty.write_text("")
    with pytest.raises(paramiko.SSHException, match="not found in known_hosts"):
        ssh(lab_spec, "primary", known_hosts=empty)
    assert empty.read_text() == ""


def test_hosts_have_separate_private_files(lab, lab_spec, tmp_path):
    pri, sec = ssh(lab_spec, "primary"), ssh(lab_spec, "secondary")
    try:
        confs = {r: sh(c, "cat /etc/dhcp/dhcpd.conf")[1] for r, c in (("primary", pri), ("secondary", sec))}
        assert "primary's baseline" in confs["primary"] and "secondary's baseline" in confs["secondary"]
        for text in confs.values():  # the baseline is a plain, non-failover pair
            assert not re.search(r"^\s*failover\s+peer", text, re.M)
        marker = f"/etc/dhcp/written-by-test-{tmp_path.name}"
        assert sh(pri, f"echo hello > {marker}")[0] == 0
        assert sh(sec, f"test -e {marker}")[0] == 1
        assert sh(pri, f"cat {marker}")[1] == "hello\n"
        # `sed -i` renames inside the directory: it works because whole dirs are bind-mounted.
        assert sh(pri, f"sed -i s/hello/bye/ {marker} && cat {marker} && rm {marker}")[1] == "bye\n"
        import os
        assert not os.path.exists(marker)  # this machine's /etc/dhcp is untouched
        # Each host logs through its own /dev/log into its own /var/log/syslog.
        for role, c in (("primary", pri), ("secondary", sec)):
            code, log, _ = sh(c, "cat /var/log/syslog")
            assert "Server starting service" in log
            assert lab_spec.address(role) in sh(c, "grep -h ListenAddress /etc/ssh/sshd_config")[1]
    finally:
        pri.close()
        sec.close()


def test_baseline_configs_pass_dhcpd_t(lab, lab_spec):
    for role in ("primary", "secondary"):
        conf = lab_spec.host_dir(role) / "etc-dhcp" / "dhcpd.conf"
        proc = subprocess.run(["dhcpd", "-t", "-cf", str(conf)], capture_output=True, text=True)
        assert proc.returncode == 0, proc.stderr


def test_client_gets_a_lease_from_a_lab_server(lab, lab_spec):
    got = lease(lab_spec, new_client=True, timeout=15)
    start, end = (ipaddress.IPv4Address(a) for a in lab_spec.pool)
    assert start <= ipaddress.IPv4Address(got.address) <= end
    assert got.server in (lab_spec.address("primary"), lab_spec.address("secondary"))
    assert got.lease_time == 600 and got.mac.startswith("02:")
    # The lease was released, so the address is not left configured on the client.
    out = ns.run(ns.host_command(lab_spec, "client", ["ip", "-4", "-o", "addr", "show", "eth0"])).stdout
    assert got.address not in out
    # ... and no dhclient is left running in the client namespace.
    assert ns.netns_pids(lab_spec.netns("client")) == []


def test_distribution_restart_works_inside_a_host(lab, lab_spec):
    before = lifecycle.status(lab_spec)["hosts"]["secondary"]["daemons"]["dhcpd"]["pid"]
    client = ssh(lab_spec, "secondary")
    try:
        code, out, err = sh(client, "service isc-dhcp-server restart", timeout=30)
    finally:
        client.close()
    assert code == 0, out + err
    after = lifecycle.status(lab_spec)["hosts"]["secondary"]["daemons"]["dhcpd"]
    assert after["running"] and after["pid"] != before


def test_up_twice_is_harmless(lab, lab_spec):
    pids = {r: h["daemons"]["dhcpd"]["pid"] for r, h in lifecycle.status(lab_spec)["hosts"].items()}
    messages = []
    st = lifecycle.up(lab_spec, progress=messages.append)
    assert st["healthy"] and any("already up" in m for m in messages)
    assert {r: h["daemons"]["dhcpd"]["pid"] for r, h in st["hosts"].items()} == pids


def test_status_json_describes_the_lab(lab, lab_spec):
    proc = run_cli("lab", "status", "--name", TEST_LAB_NAME, "--json")
    assert proc.returncode == 0, proc.stderr
    st = json.loads(proc.stdout)
    assert st["healthy"] and st["subnet"] == lab_spec.subnet
    assert st["hosts"]["primary"]["address"] == lab_spec.address("primary")
    for host in st["hosts"].values():
        assert all(d["running"] and d["pid"] > 0 for d in host["daemons"].values())
    assert st["answers"] == str(lab_spec.answers_path)


def test_lab_answers_file_loads_and_points_at_the_lab(lab_answers, lab_spec):
    assert lab_answers.primary.host == lab_spec.address("primary")
    assert lab_answers.secondary.known_hosts == str(lab_spec.known_hosts_path)
    assert lab_answers.failover.pools == (lab_spec.subnet,)
    assert lab_answers.drill.probe == f"lab:{lab_spec.name}"


# -- refusals: pure logic, no lab needed ------------------------------------------------

def test_route_collision_is_refused(monkeypatch):
    routes = [{"dst": "default", "gateway": "192.0.2.1", "dev": "eth0"},
              {"dst": "198.51.100.0/25", "dev": "tun0"}]
    monkeypatch.setattr(ns, "run", lambda argv, **kw: subprocess.CompletedProcess(
        argv, 0, json.dumps(routes), ""))
    with pytest.raises(InputError, match="collides with the route `198.51.100.0/25 dev tun0`") as info:
        ns.check_route_collision(LabSpec())
    assert "--subnet" in info.value.hint


def test_uplink_range_and_other_ranges_are_refused():
    for bad in ("192.0.2.0/24", "10.0.0.0/24", "198.51.100.0/26", "198.51.0.0/16"):
        with pytest.raises(InputError, match="not allowed"):
            LabSpec(subnet=bad)


def test_half_range_lab_addresses():
    spec = LabSpec(name="x", subnet="203.0.113.128/25")
    assert (spec.gateway, spec.address("primary")) == ("203.0.113.129", "203.0.113.139")
    assert spec.pool == ("203.0.113.192", "203.0.113.247")
    assert str(spec.remote_network) == "198.51.100.0/24"


def test_not_root_is_told_what_to_do(monkeypatch):
    monkeypatch.setattr(ns.os, "geteuid", lambda: 1000)
    with pytest.raises(InputError, match="needs root") as info:
        ns.preflight()
    assert info.value.exit_code == 2


def test_missing_packages_name_the_apt_line(monkeypatch):
    monkeypatch.setattr(ns.os, "geteuid", lambda: 0)
    monkeypatch.setattr(ns.shutil, "which", lambda tool, path=None: None if tool == "dhcpd" else "/x")
    with pytest.raises(InputError) as info:
        ns.preflight()
    assert "isc-dhcp-server" in info.value.message
    assert "apt-get install -y isc-dhcp-server" in info.value.hint
