"""The pure parts of `protect tunnel`: [tunnel] answers, the wg-quick config, what wg, ss and
the host inspection print, and the refusals before anything changes."""

from __future__ import annotations

import base64

import pytest

from tests.conftest import run_cli
from wizard.answers import TunnelAnswers, answers_from_dict, dump_answers
from wizard.errors import InputError
from wizard.ops import tunnel_shell as wsh
from wizard.ops.tunnel_conf import (TunnelEnd, ends, failover_sockets, handshakes, render,
                                    valid_key)
from wizard.ops.tunnel_transaction import TunnelSide, side_problem

KEY = base64.b64encode(bytes(range(32))).decode()


def answers(**tunnel):
    return answers_from_dict({"primary": {"host": "192.0.2.10"},
                              "secondary": {"host": "198.51.100.20"}, "tunnel": tunnel})


def test_tunnel_answers_defaults_and_normal_form():
    a = answers(addresses=["10.99.0.1/30", "10.99.0.2/30"])
    assert a.tunnel == TunnelAnswers(("10.99.0.1/30", "10.99.0.2/30"), 51820, "wg-dhcp", ())
    assert answers().tunnel.addresses == ()


@pytest.mark.parametrize("tunnel, words", [
    ({"addresses": ["10.99.0.1/30"]}, "has 1 entries, needs two"),
    ({"addresses": ["10.99.0.1", "10.99.0.2"]}, "has no prefix length"),
    ({"addresses": ["10.99.0.1/30", "10.98.0.2/30"]}, "are not in one subnet"),
    ({"addresses": ["10.99.0.1/30", "10.99.0.1/30"]}, "both peers are given 10.99.0.1"),
    ({"addresses": ["10.99.0.0/30", "10.99.0.1/30"]}, "network or broadcast"),
    ({"addresses": ["10.99.0.1/32", "10.99.0.1/32"]}, "leaves no room"),
    ({"addresses": ["fe80::1/64", "fe80::2/64"]}, "not an IPv4 address/prefix"),
    ({"addresses": [1, 2]}, "must be a list of strings"),
    ({"interface": "wg-dhcp-too-long-name"}, "not a usable interface name"),
    ({"interface": "wg 0"}, "not a usable interface name"),
    ({"port": 0}, "is not a UDP port"),
    ({"endpoints": ["a", "b"]}, "is set without tunnel.addresses"),
    ({"addresses": ["10.99.0.1/30", "10.99.0.2/30"], "endpoints": ["a"]}, "needs two"),
    ({"adresses": []}, "did you mean tunnel.addresses"),
])
def test_bad_tunnel_answers_are_refused_by_name(tunnel, words):
    with pytest.raises(InputError) as exc:
        answers(**tunnel)
    assert exc.value.message.startswith("<answers>: tunnel.")
    assert words in exc.value.render()


def test_a_31_is_two_usable_addresses():
    assert answers(addresses=["10.99.0.0/31", "10.99.0.1/31"]).tunnel.addresses[0] == \
        "10.99.0.0/31"


def test_dump_answers_round_trips_and_leaves_out_an_unused_tunnel():
    assert "[tunnel]" not in dump_answers(answers())
    a = answers(addresses=["10.99.0.1/30", "10.99.0.2/30"], port=51000)
    text = dump_answers(a)
    assert '[tunnel]\naddresses = ["10.99.0.1/30", "10.99.0.2/30"]\nport = 51000' in text
    import tomllib
    assert answers_from_dict(tomllib.loads(text)).tunnel == a.tunnel


def test_ends_take_the_underlay_or_the_given_endpoints():
    t = answers(addresses=["10.99.0.1/30", "10.99.0.2/30"]).tunnel
    e = ends(t, {"primary": "192.0.2.10", "secondary": "198.51.100.20"})
    assert (e["primary"].ip, e["primary"].endpoint) == ("10.99.0.1", "192.0.2.10")
    assert e["secondary"].conf_path == "/etc/wireguard/wg-dhcp.conf"
    given = answers(addresses=["10.99.0.1/30", "10.99.0.2/30"],
                    endpoints=["203.0.113.1", "dhcp2.example"]).tunnel
    assert ends(given, {"primary": "x", "secondary": "y"})["secondary"].endpoint == \
        "dhcp2.example"


def test_ends_refuse_a_tunnel_subnet_holding_an_endpoint_and_no_addresses():
    t = answers(addresses=["192.0.2.1/24", "192.0.2.2/24"]).tunnel
    with pytest.raises(InputError, match="holds the primary's endpoint 192.0.2.10"):
        ends(t, {"primary": "192.0.2.10", "secondary": "198.51.100.20"})
    with pytest.raises(InputError, match="no \\[tunnel\\] addresses"):
        ends(TunnelAnswers(), {})


def _pair():
    t = answers(addresses=["10.99.0.1/30", "10.99.0.2/30"]).tunnel
    return ends(t, {"primary": "192.0.2.10", "secondary": "198.51.100.20"})


def test_render_is_wg_quick_with_public_keys_only():
    e = _pair()
    text = render(e["primary"], e["secondary"], KEY)
    assert "[Interface]\nAddress = 10.99.0.1/30\nListenPort = 51820\n" in text
    assert "PostUp = wg set %i private-key /etc/wireguard/wg-dhcp.key\n" in text
    assert (f"[Peer]\n# the secondary\nPublicKey = {KEY}\nAllowedIPs = 10.99.0.2/32\n"
            "Endpoint = 198.51.100.20:51820\nPersistentKeepalive = 25\n") in text
    assert "PrivateKey" not in text
    v6 = TunnelEnd("secondary", "10.99.0.2/30", "2001:db8::2", 51820, "wg-dhcp")
    assert "Endpoint = [2001:db8::2]:51820" in render(e["primary"], v6, KEY)
    with pytest.raises(ValueError):
        render(e["primary"], e["secondary"], "not-a-key")


def test_valid_key():
    assert valid_key(KEY)
    assert not valid_key(KEY[:-1]) and not valid_key(KEY[:-2] + "==")
    assert not valid_key("") and not valid_key("!" * 43 + "=")


def test_handshakes_and_failover_sockets_parse_what_the_tools_print():
    assert handshakes(f"{KEY}\t0\nother=\t1733150000\n") == {KEY: 0, "other=": 1733150000}
    ss = ("0      0      10.99.0.1:519     10.99.0.2:40122\n"
          "0      0      192.0.2.10:22     192.0.2.1:5000\n"
          "0      0      10.99.0.1:33000   10.99.0.2:520\n")
    assert failover_sockets(ss, {519, 520}) == [("10.99.0.1", "10.99.0.2"),
                                                ("10.99.0.1", "10.99.0.2")]


def test_inspection_output_and_the_refusals_it_leads_to():
    e = _pair()["primary"]
    found = wsh.parse_inspect("impl=userspace\nmanager=systemd\ndir=present\n")
    assert side_problem("primary", found, e) is None
    for text, words in (("missing=wg\nimpl=kernel", "wg not installed"),
                        ("conf=present\nimpl=kernel", "exists already"),
                        ("port=taken\nimpl=kernel", "UDP port 51820 is taken"),
                        ("impl=none", "no WireGuard there")):
        assert words in side_problem("primary", wsh.parse_inspect(text), e)


def test_host_snippets_never_carry_a_key_and_undo_is_complete():
    e = _pair()
    gen = wsh.genkey("STAMP")
    assert "umask 077" in gen and "wg genkey >" in gen and "wg pubkey <" in gen
    assert "/var/run/dhcp-wizard/STAMP/wg.key" in gen
    side = TunnelSide(e["secondary"], e["primary"], "userspace", "systemd", made_dir=True)
    undo = side.undo
    assert "systemctl disable --now wg-quick@wg-dhcp" in undo
    assert "wg-quick down wg-dhcp" in undo and "rmdir /etc/wireguard" in undo
    assert "rm -f /etc/wireguard/wg-dhcp.conf /etc/wireguard/wg-dhcp.key" in undo
    assert "WG_QUICK_USERSPACE_IMPLEMENTATION=wireguard-go" in wsh.up(e["primary"], "userspace",
                                                                       "systemd")
    assert wsh.up(e["primary"], "kernel", "") == "wg-quick up wg-dhcp 2>&1"
    assert "rmdir" not in TunnelSide(e["primary"], e["secondary"], "kernel", "", False).undo
    drop = wsh.drop_on("eth0", [647, 847], 70)
    assert 'iifname "eth0" tcp dport { 647, 847 } counter drop' in drop
    assert "sleep 70" in drop and "setsid" in drop
    with pytest.raises(ValueError):
        wsh.try_connect("10.0.0.1; reboot", 647)


def test_protect_tunnel_without_tunnel_addresses_is_bad_input(tmp_path):
    f = tmp_path / "a.toml"
    f.write_text('[primary]\nhost = "192.0.2.10"\n[secondary]\nhost = "198.51.100.20"\n')
    proc = run_cli("protect", "tunnel", "--answers", str(f), "--yes")
    assert proc.returncode == 2
    assert "the answers have no [tunnel] addresses" in proc.stderr
    assert "Traceback" not in proc.stderr
    bad = run_cli("protect", "tunnel", "--answers", str(f), "--handshake-timeout", "1")
    assert bad.returncode == 2 and "not a number of seconds from 2 to 300" in bad.stderr
