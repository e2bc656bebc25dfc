"""The routed lab (issue 13) against its real daemons: two server sites behind a router whose
dhcrelay serves the client segment, a RHEL-layout secondary run by a systemctl that answers as
systemd does, root login refused. What the wizard relies on is checked from where the wizard
sees it: over SSH, as the sudo user."""

from __future__ import annotations

import ipaddress
import json
import subprocess
import time

import paramiko
import pytest

from tests.conftest import ROUTED, TEST_LAB_NAME, TEST_LAB_SUBNET, run_cli
from tests.helpers.lab import sh, ssh
from wizard.answers import load_answers
from wizard.lab import daemons, lifecycle
from wizard.lab.client import lease
from wizard.lab import namespaces as ns
from wizard.lab.spec import LAB_USER, LabSpec
from wizard.remote.ssh import Pair

pytestmark = pytest.mark.lab
LAB = ["--name", TEST_LAB_NAME]


@pytest.fixture(scope="module")
def built(_lab_session, routed_spec):
    """The routed lab built from nothing by the command a user types, timed."""
    lifecycle.down(routed_spec, progress=lambda _m: None)
    t0 = time.monotonic()
    proc = run_cli("lab", "up", *LAB, "--subnet", TEST_LAB_SUBNET, "--topology", "routed",
                   "--flavor-secondary", "rhel", "--no-root-login")
    return proc, time.monotonic() - t0


def test_lab_up_routed_builds_in_seconds_and_describes_itself(built, routed_spec):
    proc, seconds = built
    assert proc.returncode == 0, proc.stderr
    assert seconds < 10, f"lab up --topology routed took {seconds:.1f} s"
    assert proc.stdout.strip() == str(routed_spec.answers_path)
    st = json.loads(run_cli("lab", "status", *LAB, "--json").stdout)
    assert st["healthy"] and st["topology"] == "routed"
    segments = {k: ipaddress.IPv4Network(v) for k, v in st["segments"].items()}
    lab_net = ipaddress.IPv4Network(TEST_LAB_SUBNET)
    assert all(n.subnet_of(lab_net) for n in segments.values())   # carved out of the lab's own
    assert not any(a.overlaps(b) for a in segments.values() for b in segments.values() if a != b)
    assert st["hosts"]["primary"]["flavor"] == "debian"
    assert st["hosts"]["secondary"]["flavor"] == "rhel"
    assert st["router"]["relay"]["forwards_to"] == ["primary", "secondary"]
    assert all(d["running"] for d in st["router"]["daemons"].values())
    answers = load_answers(routed_spec.answers_path)
    assert answers.primary.user == LAB_USER and answers.primary.sudo
    assert answers.relays.ssh == (routed_spec.address("router"),)
    assert answers.failover.pools == (st["segments"]["clients"],)


def test_the_servers_sit_on_two_sites_and_their_path_is_routed(built, routed_spec):
    site_a, site_b = routed_spec.site("primary"), routed_spec.site("secondary")
    assert not site_a.overlaps(site_b)
    client = ssh(routed_spec, "primary")
    try:
        code, out, _ = sh(client, f"ip route get {routed_spec.address('secondary')}")
        assert code == 0 and f"via {routed_spec.router_address('site-a')}" in out
        # One hop: the router decrements the TTL of what crosses it (64 -> 63).
        code, out, _ = sh(client, f"sudo -n busybox ping -c 1 -W 2 {routed_spec.address('secondary')}")
        assert code == 0 and "ttl=63" in out, out
    finally:
        client.close()


def test_root_login_is_refused_and_the_sudo_user_gets_root(built, routed_spec):
    for role in ("primary", "secondary"):
        with pytest.raises(paramiko.AuthenticationException):
            ssh(routed_spec, role, user="root")
        client = ssh(routed_spec, role)
        try:
            assert sh(client, "id -un")[1].strip() == LAB_USER
            assert sh(client, "sudo -n id -u")[1].strip() == "0"
        finally:
            client.close()


def test_the_secondary_is_laid_out_as_rhel_9(built, routed_spec):
    client = ssh(routed_spec, "secondary")
    try:
        run = lambda cmd: sh(client, cmd)  # noqa: E731
        assert 'ID="rocky"' in run("cat /etc/os-release")[1]
        assert run("cat /etc/redhat-release")[1].startswith("Rocky Linux release 9")
        for absent in ("/etc/default/isc-dhcp-server", "/etc/init.d/isc-dhcp-server",
                       "/etc/debian_version"):
            assert run(f"test -e {absent}")[0] == 1, absent
        assert run("command -v firewall-cmd")[0] != 0   # the default: no firewalld
        assert run("test -f /etc/sysconfig/dhcpd && test -d /run/systemd/system")[0] == 0
        assert run("stat -c '%U:%G %a' /var/lib/dhcpd /var/lib/dhcpd/dhcpd.leases")[1] \
            .split("\n")[:2] == ["dhcpd:dhcpd 755", "dhcpd:dhcpd 644"]
        pid = run("systemctl show -P MainPID dhcpd")[1].strip()
        code, out, _ = run(f"ps -o user=,args= -p {pid}")
        assert out.split(None, 1) == [
            "dhcpd", "/usr/sbin/dhcpd -f -cf /etc/dhcp/dhcpd.conf -user dhcpd -group dhcpd "
            "--no-pid\n"]
        assert run("systemctl is-active dhcpd") == (0, "active\n", "")
        assert run("systemctl is-active isc-dhcp-server")[:2] == (3, "inactive\n")
        assert run("systemctl status nosuch")[0] == 4
        code, _, err = run("systemctl restart dhcpd")
        assert code == 1 and "Interactive authentication required" in err   # no sudo, no polkit
        assert "Server starting service." in run("journalctl -u dhcpd --no-pager")[1]
    finally:
        client.close()


def test_systemctl_fails_a_dhcpd_that_cannot_start_as_systemd_does(built, routed_spec):
    conf = routed_spec.host_dir("secondary") / "etc-dhcp" / "dhcpd.conf"
    good = conf.read_text()
    client = ssh(routed_spec, "secondary")
    try:
        conf.write_text(good + "\nthis is not dhcpd syntax;\n")
        code, out, err = sh(client, "sudo -n systemctl restart dhcpd", timeout=40)
        assert code == 1, out + err
        assert "Job for dhcpd.service failed because the control process exited" in err
        assert sh(client, "systemctl is-active dhcpd")[:2] == (3, "failed\n")
        code, out, _ = sh(client, "journalctl -xeu dhcpd.service --no-pager -n 30")
        assert "dhcpd.conf line" in out and "dhcpd[" in out, out   # dhcpd's own words
        assert "Failed with result 'exit-code'" in out
    finally:
        conf.write_text(good)
        code, out, err = sh(client, "sudo -n service dhcpd restart", timeout=40)
        client.close()
    assert code == 0 and "Redirecting to /bin/systemctl restart dhcpd.service" in err, out + err
    assert lifecycle.status(routed_spec)["hosts"]["secondary"]["daemons"]["dhcpd"]["running"]


def test_the_wizard_detects_each_host_from_the_host(built, routed_spec):
    from wizard import facts

    answers = load_answers(routed_spec.answers_path)
    pair = Pair(answers).open()
    try:
        assert not pair.errors, pair.errors
        got = {r: facts.gather(pair.conn(r)) for r in ("primary", "secondary")}
    finally:
        pair.close()
    pri, sec = got["primary"], got["secondary"]
    assert (pri.os.family, pri.service.restart, pri.leases.value) == (
        "debian", "service isc-dhcp-server restart", "/var/lib/dhcp/dhcpd.leases")
    assert (sec.os.family, sec.os.id, sec.service.manager) == ("rhel", "rocky", "systemd")
    assert sec.service.restart == "systemctl restart dhcpd.service"
    assert (sec.leases.value, sec.leases.source) == ("/var/lib/dhcpd/dhcpd.leases", "rhel default")
    assert sec.config.value == "/etc/dhcp/dhcpd.conf" and sec.running


def test_a_client_behind_the_relay_gets_a_lease_from_a_site_server(built, routed_spec):
    got = lease(routed_spec, new_client=True, timeout=15)
    start, end = (ipaddress.IPv4Address(a) for a in routed_spec.pool)
    assert start <= ipaddress.IPv4Address(got.address) <= end
    assert ipaddress.IPv4Address(got.address) in routed_spec.served_network
    assert got.server in (routed_spec.address("primary"), routed_spec.address("secondary"))
    # The servers saw it relayed: dhcpd logs the relay's address on the client segment.
    logs = [routed_spec.host_dir("primary") / "var-log" / "syslog",
            routed_spec.host_dir("secondary") / "var-log" / "messages"]
    assert any(f"to {got.mac} via {routed_spec.client_gateway}" in p.read_text() for p in logs)


def test_a_relay_forwarding_to_one_server_fails_the_check_until_fixed(built, routed_spec):
    answers = str(routed_spec.answers_path)
    proc = run_cli("lab", "relay", *LAB, "--only", "primary")
    assert proc.returncode == 0 and "primary" in proc.stdout and "secondary" not in proc.stdout
    try:
        report = json.loads(run_cli("check", "--answers", answers, "--json").stdout)
        [relay] = [c for c in report["checks"] if c["id"] == "relay"]
        assert not report["ok"] and relay["status"] == "fail", relay
        assert f"does not forward to {routed_spec.address('secondary')}" in relay["detail"]
        servers = f"{routed_spec.address('primary')} {routed_spec.address('secondary')}"
        assert f'SERVERS="{servers}"' in relay["fix"]
        # The fix as an admin carries it out on the router, over SSH with sudo.
        client = ssh(routed_spec, "router")
        try:
            code, out, err = sh(client, "sudo -n sed -i 's/^SERVERS=.*/SERVERS=\"" + servers
                                + "\"/' /etc/default/isc-dhcp-relay && sudo -n service "
                                "isc-dhcp-relay restart", timeout=30)
            assert code == 0, out + err
        finally:
            client.close()
        report = json.loads(run_cli("check", "--answers", answers, "--json").stdout)
        [relay] = [c for c in report["checks"] if c["id"] == "relay"]
        assert relay["status"] == "pass", relay
    finally:
        run_cli("lab", "relay", *LAB, "--both")


def test_a_dhcrelay_of_another_namespace_is_not_taken_for_the_router_s(built, routed_spec):
    from wizard.checks import relays

    # A dhcrelay-shaped process in the client namespace, listing an address of its own.
    fake = subprocess.Popen(ns.host_command(routed_spec, "client", [
        "bash", "-c", "exec -a /usr/sbin/dhcrelay python3 -c 'import time; time.sleep(30)' "
        "198.51.100.250"]))
    try:
        time.sleep(0.3)
        got = []
        relays.check(load_answers(routed_spec.answers_path), lambda *a: got.append(a))
        [(_id, _host, status, detail, *_)] = got
        assert status == "pass" and "198.51.100.250" not in detail, detail
    finally:
        fake.kill()
        fake.wait()


def test_flat_labs_and_their_refusals_are_unchanged_by_the_new_options():
    assert LabSpec(name="x", subnet="203.0.113.128/25").routed is False
    spec = LabSpec(name="x", subnet="203.0.113.0/25", **ROUTED)
    assert spec.pool == ("203.0.113.74", "203.0.113.119")
    assert (spec.gateway, spec.address("router"), spec.address("primary"),
            spec.address("secondary")) == ("203.0.113.1", "203.0.113.2", "203.0.113.27",
                                           "203.0.113.44")
    from wizard.errors import InputError

    with pytest.raises(InputError, match="flavor 'suse'"):
        LabSpec(flavor_secondary="suse")
    with pytest.raises(InputError, match="topology"):
        LabSpec(topology="star")


def test_lab_relay_on_a_flat_lab_says_how_to_get_one():
    proc = run_cli("lab", "relay", "--name", "nolab")
    assert proc.returncode == 2 and "has no relay" in proc.stderr
    assert "--topology routed" in proc.stderr and "Traceback" not in proc.stderr


def test_zz_down_leaves_nothing_of_a_routed_lab_behind(built, routed_spec):
    st = lifecycle.status(routed_spec)
    pids = [d["pid"] for h in (*st["hosts"].values(), st["router"])
            for d in h["daemons"].values() if d["pid"]]
    lifecycle.down(routed_spec, progress=lambda _m: None)
    assert not any(daemons.alive(p) for p in pids)
    for role in ns.ALL_NETNS:
        assert not ns.netns_exists(routed_spec.netns(role))
    assert not ns.link_exists(routed_spec.bridge) and not ns.link_exists(routed_spec.veth("router"))
    assert TEST_LAB_SUBNET not in ns.run(["ip", "-4", "route"]).stdout
    mounts = open("/proc/self/mountinfo").read()
    assert f"/{routed_spec.name}/" not in mounts and f"/{routed_spec.name} " not in mounts
    assert not routed_spec.state_dir.exists() and not routed_spec.run_dir.exists()
