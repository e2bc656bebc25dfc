"""The newcomer's input mistakes: each one refused at load time (exit 2), the key named and
the fix given, before anything reaches a server."""

from __future__ import annotations

import pytest

from tests.conftest import run_cli
from wizard.answers import load_answers
from wizard.errors import InputError

HOSTS = '[primary]\nhost = "198.51.100.11"\n[secondary]\nhost = "198.51.100.12"\n'


def write(tmp_path, text, name="answers.toml"):
    path = tmp_path / name
    path.write_text(text)
    return path


def refused(path) -> InputError:
    with pytest.raises(InputError) as info:
        load_answers(path)
    return info.value


# -- [omapi] ------------------------------------------------------------------------------

@pytest.mark.parametrize("omapi, key, words", [
    ("port = 0", "omapi.port", "not a TCP port"),
    ("port = 70000", "omapi.port", "not a TCP port"),
    ('key_name = "my key"', "omapi.key_name", "not a usable key name"),
    ('key_name = ""', "omapi.key_name", "not a usable key name"),
    ('key_name = "k;}"', "omapi.key_name", "not a usable key name"),
])
def test_omapi_port_and_key_name_are_validated(tmp_path, omapi, key, words):
    error = refused(write(tmp_path, HOSTS + f"[omapi]\n{omapi}\n"))
    assert key in error.message and words in error.message and error.hint


# -- the same machine in both roles --------------------------------------------------------

@pytest.mark.parametrize("primary, secondary", [
    ('host = "198.51.100.11"', 'host = "198.51.100.11"'),
    ('host = "dhcp1.example.net"', 'host = "DHCP1.example.net."'),
    ('host = "2001:db8::1"', 'host = "2001:0db8:0:0::1"'),
    ('host = "dhcp1"\nport = 2222', 'host = "dhcp1"\nport = 2222'),
])
def test_the_same_host_for_both_roles_is_refused(tmp_path, primary, secondary):
    error = refused(write(tmp_path, f"[primary]\n{primary}\n[secondary]\n{secondary}\n"))
    assert "secondary.host" in error.message and "same" in error.message
    assert "two servers" in error.hint


def test_one_address_on_two_ssh_ports_is_two_hosts_if_their_failover_endpoints_differ(tmp_path):
    # Two machines behind one NAT address: SSH on two ports, failover on two ports.
    path = write(tmp_path, '[primary]\nhost = "192.0.2.1"\nport = 2201\n'
                           '[secondary]\nhost = "192.0.2.1"\nport = 2202\n'
                           '[failover]\nprimary_port = 519\nsecondary_port = 520\n')
    assert load_answers(path).secondary.port == 2202


# -- ports that collide --------------------------------------------------------------------

@pytest.mark.parametrize("failover, omapi, key", [
    ("primary_port = 7911", "", "failover.primary_port"),
    ("secondary_port = 7911", "", "failover.secondary_port"),
    ("", "port = 647", "failover.primary_port"),
])
def test_a_failover_port_equal_to_the_omapi_port_is_refused(tmp_path, failover, omapi, key):
    error = refused(write(tmp_path, HOSTS + f"[failover]\n{failover}\n[omapi]\n{omapi}\n"))
    assert key in error.message and "omapi.port" in error.message
    assert "failover listener" in error.message


def test_equal_failover_ports_are_the_normal_case_on_two_addresses(tmp_path):
    a = load_answers(write(tmp_path, HOSTS + "[failover]\nprimary_port = 647\nsecondary_port = 647\n"))
    assert a.failover.primary_port == a.failover.secondary_port == 647


def test_equal_failover_ports_on_one_failover_address_are_refused(tmp_path):
    error = refused(write(tmp_path, HOSTS + '[failover]\nprimary_address = "10.0.0.1"\n'
                                            'secondary_address = "10.0.0.1"\n'))
    assert "failover.secondary_port" in error.message and "10.0.0.1" in error.message
    assert "secondary_address" in error.hint


# -- numbers dhcpd would wrap or that make no sense operationally ------------------------------

@pytest.mark.parametrize("setting, key, words", [
    ("mclt = 99999999999999", "failover.mclt", "recover-wait"),
    ("mclt = 86401", "failover.mclt", "1..86400"),
    ("mclt = 0", "failover.mclt", "1..86400"),
    ("max_response_delay = 4294967296", "failover.max_response_delay", "1..3600"),
    ("max_unacked_updates = 100000", "failover.max_unacked_updates", "1..1000"),
    ("load_balance_max_seconds = 70000", "failover.load_balance_max_seconds", "0..65535"),
    ("load_balance_max_seconds = -1", "failover.load_balance_max_seconds", "0..65535"),
    ("split = -1", "failover.split", "0..256"),
])
def test_failover_numbers_are_bounded_with_the_reason(tmp_path, setting, key, words):
    error = refused(write(tmp_path, HOSTS + f"[failover]\n{setting}\n"))
    assert key in error.message and words in error.render()


@pytest.mark.parametrize("setting", ["mclt = 1", "mclt = 86400", "max_response_delay = 3600",
                                     "max_unacked_updates = 1000",
                                     "load_balance_max_seconds = 0"])
def test_the_bounds_themselves_are_accepted(tmp_path, setting):
    load_answers(write(tmp_path, HOSTS + f"[failover]\n{setting}\n"))


# -- the file itself -----------------------------------------------------------------------

def test_a_utf8_byte_order_mark_is_accepted(tmp_path):
    path = tmp_path / "bom.toml"
    path.write_bytes(b"\xef\xbb\xbf" + HOSTS.encode())
    assert load_answers(path).primary.host == "198.51.100.11"


def test_a_utf16_file_is_named_as_such(tmp_path):
    path = tmp_path / "utf16.toml"
    path.write_bytes(HOSTS.encode("utf-16"))
    error = refused(path)
    assert "UTF-16" in error.message and "UTF-8" in error.hint


def test_bad_answers_exit_2_without_traceback(tmp_path):
    path = write(tmp_path, HOSTS + "[failover]\nmclt = 99999999999999\n")
    proc = run_cli("plan", "--answers", str(path), "--from", "/dev/null", "/dev/null")
    assert proc.returncode == 2 and "failover.mclt" in proc.stderr
    assert "Traceback" not in proc.stderr and "internal error" not in proc.stderr


@pytest.mark.parametrize("command", [["check"], ["plan"]])
def test_two_ssh_aliases_of_one_host_are_refused_before_any_ssh(tmp_path, monkeypatch, command):
    ssh_config = tmp_path / "ssh_config"
    ssh_config.write_text("Host dhcp-a\n  HostName 127.0.0.1\n  Port 1\n"
                          "Host dhcp-b\n  HostName 127.0.0.1\n  Port 1\n")
    path = write(tmp_path, '[primary]\nhost = "dhcp-a"\n[secondary]\nhost = "dhcp-b"\n')
    monkeypatch.setenv("DHCP_WIZARD_SSH_CONFIG", str(ssh_config))
    proc = run_cli(*command, "--answers", str(path), "--session", str(tmp_path / "s"))
    assert proc.returncode == 2, proc.stderr
    assert "secondary.host" in proc.stderr and "127.0.0.1 port 1" in proc.stderr
    assert "refused" not in proc.stderr and "Traceback" not in proc.stderr
