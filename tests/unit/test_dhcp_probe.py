"""The stdlib DHCP probe: packet encoding, and a real DORA + release against the lab.

The pure part: recorded outputs and inputs, no lab."""

from __future__ import annotations

import socket
import struct

import pytest

from wizard.remote import dhcp_probe_script as script
from wizard.answers import answers_from_dict
from wizard.lab.probe import LabProbe, register
from wizard.ops import lease_probe
from wizard.ops.lease_probe import LocalProbe, SshProbe, probe_from_answers
from wizard.errors import InputError, OperationFailed


def test_discover_is_a_broadcast_bootp_request_with_our_mac():
    mac = bytes.fromhex("02aabbccddee")
    pkt = script.packet(script.DISCOVER, 0x12345678, mac)
    assert pkt[0] == 1 and pkt[28:34] == mac and struct.unpack("!H", pkt[10:12])[0] == 0x8000
    assert pkt[236:240] == script.MAGIC and pkt[240:243] == bytes([53, 1, 1])


def test_parse_reads_an_ack_and_ignores_other_transactions():
    reply = bytearray(script.packet(script.REQUEST, 7, b"\x02" * 6))
    reply[0] = 2
    reply[16:20] = socket.inet_aton("198.51.100.150")
    reply[240:] = bytes([53, 1, 5, 54, 4]) + socket.inet_aton("198.51.100.12") + \
        bytes([51, 4]) + struct.pack("!I", 600) + bytes([255])
    got = script.parse(bytes(reply), 7)
    assert got == {"yiaddr": "198.51.100.150", "type": 5, "server": "198.51.100.12",
                   "lease_time": 600}
    assert script.parse(bytes(reply), 8) is None


def probe_answers(probe, **extra):
    return answers_from_dict({"primary": {"host": "a"}, "secondary": {"host": "b"},
                              "drill": {"probe": probe, **extra}})


def test_the_lab_probe_exists_only_once_the_front_end_plugs_it_in(monkeypatch):
    monkeypatch.setattr(lease_probe, "KINDS", {})
    with pytest.raises(OperationFailed, match="needs the built-in lab"):
        probe_from_answers(probe_answers("lab:dhw"))
    register()
    assert isinstance(probe_from_answers(probe_answers("lab:dhw")), LabProbe)


def test_probe_kinds_from_the_answers():
    assert isinstance(probe_from_answers(probe_answers("local:eth1")), LocalProbe)
    ssh = probe_from_answers(probe_answers("ssh:probe1", probe_interface="eth0"))
    assert isinstance(ssh, SshProbe) and ssh.interface == "eth0"
    assert probe_from_answers(answers_from_dict({"primary": {"host": "a"},
                                                 "secondary": {"host": "b"}})) is None
    with pytest.raises(InputError, match="probe_interface"):
        probe_answers("ssh:probe1")
    with pytest.raises(InputError, match="is not a probe"):
        probe_answers("dhclient")


def test_the_wizard_host_is_its_own_probe_where_it_has_a_leg_on_a_served_subnet():
    from wizard.ops.lease_probe import served_leg

    legs = [("lo", "127.0.0.1/8"), ("eth0", "192.0.2.10/24"), ("vlan20", "198.51.100.7/24")]
    assert served_leg(["203.0.113.0/25", "198.51.100.0/24"], legs) == ("vlan20",
                                                                       "198.51.100.0/24")
    # On no served subnet (a management network only), there is no probe to find.
    assert served_leg(["203.0.113.0/25"], legs) is None
    assert served_leg(["not-a-cidr"], legs) is None


def test_the_servers_own_segment_is_preferred_to_a_relayed_subnet_of_the_same_config():
    from wizard.ops.lease_probe import served_leg

    # This host sits in both: 198.51.100.0/24 is served through a relay (no server in it),
    # and its leg there may be another network with that number; the servers are on 203.0.113/25.
    legs = [("other-br", "198.51.100.1/25"), ("lab-br", "203.0.113.1/25")]
    served = ["198.51.100.0/24", "203.0.113.0/25"]
    assert served_leg(served, legs, ["203.0.113.11", "203.0.113.12"]) == ("lab-br",
                                                                          "203.0.113.0/25")
    # Without the servers' addresses, the config's order decides, as before.
    assert served_leg(served, legs) == ("other-br", "198.51.100.0/24")
    # Only the relayed subnet is at hand: it is still tried.
    assert served_leg(served, legs[:1], ["203.0.113.11"]) == ("other-br", "198.51.100.0/24")
