"""A full disk on one peer: the upload fails, nothing is switched, nothing half-written is
left beside the config, and the reason says what to do."""

from __future__ import annotations

import contextlib

import pytest

from tests.helpers.apply import fresh, plan, transaction
from wizard.lab import lifecycle
from wizard.lab import namespaces as ns
pytestmark = pytest.mark.lab


@contextlib.contextmanager
def full_etc_dhcp(spec, role: str):
    """/etc/dhcp of one lab host on a tiny tmpfs holding its config, filled to the brim."""
    conf = (spec.host_dir(role) / "etc-dhcp" / "dhcpd.conf").read_text()
    inside = lambda *argv, **kw: ns.run(ns.host_command(spec, role, list(argv)), **kw)  # noqa: E731
    inside("mount", "-t", "tmpfs", "-o", "size=64k,mode=755", "tmpfs", "/etc/dhcp")
    try:
        inside("sh", "-c", "cat > /etc/dhcp/dhcpd.conf", input=conf)
        inside("sh", "-c", "dd if=/dev/zero of=/etc/dhcp/filler bs=4k 2>/dev/null; true")
        yield lambda: inside("ls", "-a", "/etc/dhcp").stdout.split()
    finally:
        inside("umount", "/etc/dhcp", check=False)


def test_a_full_disk_on_one_peer_switches_nothing_and_leaves_no_partial_file(lab, lab_spec):
    answers = fresh(lab_spec)
    the_plan = plan(lab_spec, answers)
    with full_etc_dhcp(lab_spec, "secondary") as listing:
        tx, pair, _ = transaction(lab_spec, answers, the_plan)
        result = tx.run()
        pair.close()
        left = listing()
    assert not result.ok and result.phase == "prepare", result.reason
    assert "No space left" in result.reason and "disk is full" in result.reason
    assert "nothing was switched" in result.reason
    assert not [n for n in left if ".dhcp-wizard-" in n], left
    primary_dir = lab_spec.host_dir("primary") / "etc-dhcp"
    assert not [p.name for p in primary_dir.iterdir() if ".dhcp-wizard-" in p.name and
                not p.name.endswith(".bak")]
    st = lifecycle.status(lab_spec)
    assert all(st["hosts"][r]["daemons"]["dhcpd"]["running"] for r in ("primary", "secondary"))
