"""Skew and teardown of the test lab. Each test puts the lab back as it found it (healthy, no
skew), so the module runs in any order, before or after any other."""

from __future__ import annotations

import os
import re
import time

import ntplib
import pytest

from tests.helpers.lab import sh, ssh
from wizard.lab import daemons, lifecycle
from wizard.lab import namespaces as ns
pytestmark = pytest.mark.lab
SKEW = 37.0


@pytest.fixture
def restored(lab_spec):
    yield
    lifecycle.up(lab_spec, progress=lambda _m: None)


def test_skew_secondary_really_skews_ntp_ssh_and_dhcpd(lab, lab_spec, restored):
    st = lifecycle.up(lab_spec, skew_secondary=SKEW, progress=lambda _m: None)
    assert st["healthy"] and st["hosts"]["secondary"]["skew_seconds"] == SKEW
    ntp = ntplib.NTPClient()
    offsets = {r: ntp.request(lab_spec.address(r), version=3, timeout=2).offset
               for r in ("primary", "secondary")}
    assert abs(offsets["primary"]) < 1.0
    assert abs(offsets["secondary"] - SKEW) < 1.0

    for role, expected in (("primary", 0.0), ("secondary", SKEW)):
        client = ssh(lab_spec, role)  # host keys were regenerated: the new known_hosts works
        try:
            before = time.time()
            remote = float(sh(client, "date +%s.%N")[1])
            after = time.time()
            assert abs(remote - (before + after) / 2 - expected) < 1.0
            # dhcpd itself runs on the skewed clock, and only on the skewed host.
            pid = int(sh(client, "cat /run/dhcpd.pid")[1])
            env = open(f"/proc/{pid}/environ", "rb").read().split(b"\0")
            assert (f"FAKETIME={SKEW:+g}".encode() in env) == bool(expected)
            code, out, _ = sh(client, "service isc-dhcp-server restart && date +%s", timeout=30)
            assert code == 0
        finally:
            client.close()
    # After a restart through the init script (which clears the environment) the skew holds.
    pid = lifecycle.status(lab_spec)["hosts"]["secondary"]["daemons"]["dhcpd"]["pid"]
    env = open(f"/proc/{pid}/environ", "rb").read().split(b"\0")
    assert f"FAKETIME={SKEW:+g}".encode() in env


def _own_routes() -> list[str]:
    return [r for r in ns.run(["ip", "-4", "route"]).stdout.splitlines()
            if not re.search(r" dev \S+-br\b", r)]


def test_down_leaves_nothing_behind(lab, lab_spec, restored):
    st = lifecycle.status(lab_spec)
    pids = [d["pid"] for h in st["hosts"].values() for d in h["daemons"].values() if d["pid"]]
    assert pids
    own_routes = _own_routes()
    lifecycle.down(lab_spec, progress=lambda _m: None)
    assert not any(os.path.exists(f"/proc/{p}") and daemons.alive(p) for p in pids)
    for role in ("primary", "secondary", "client"):
        assert not ns.netns_exists(lab_spec.netns(role))
        assert not ns.link_exists(lab_spec.veth(role))
    assert not ns.link_exists(lab_spec.bridge)
    mounts = open("/proc/self/mountinfo").read()
    assert f"/{lab_spec.name}/" not in mounts and f"/{lab_spec.name} " not in mounts
    assert not lab_spec.state_dir.exists() and not lab_spec.run_dir.exists()
    routes = ns.run(["ip", "-4", "route"]).stdout
    assert lab_spec.subnet not in routes
    # The machine's own network is untouched (another worker's lab may come or go meanwhile).
    assert _own_routes() == own_routes
    # The lab's sudo login goes with the last lab.
    from wizard.lab.spec import LAB_USER, state_root

    if not list(state_root().glob("*/state.json")):
        assert ns.run(["getent", "passwd", LAB_USER], check=False).returncode != 0
