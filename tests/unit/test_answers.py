"""The answers loader: defaults, and every kind of bad file refused by name (exit 2)."""

from __future__ import annotations

import tomllib

import pytest

from tests.conftest import run_cli
from wizard.answers import answers_from_dict, dump_answers, load_answers
from wizard.errors import InputError

MINIMAL = '[primary]\nhost = "198.51.100.11"\n[secondary]\nhost = "198.51.100.12"\n'


def write(tmp_path, text):
    path = tmp_path / "answers.toml"
    path.write_text(text)
    return path


def test_minimal_file_gets_cli_md_defaults(tmp_path):
    a = load_answers(write(tmp_path, MINIMAL))
    assert a.primary.host == "198.51.100.11" and a.secondary.host == "198.51.100.12"
    assert a.primary.sudo is False and a.primary.user is None
    assert (a.failover.name, a.failover.primary_port, a.failover.secondary_port) == (
        "failover-partner", 647, 647)
    assert (a.failover.mclt, a.failover.split, a.failover.hba) == (3600, 128, None)
    assert a.failover.load_balance_max_seconds == 3 and a.failover.pools is None
    assert (a.omapi.port, a.omapi.key_name) == (7911, "omapi_key")
    assert a.checks.max_skew_seconds == 5.0


def test_answers_are_frozen(tmp_path):
    a = load_answers(write(tmp_path, MINIMAL))
    with pytest.raises(AttributeError):
        a.primary.host = "other"  # type: ignore[misc]
    changed = a.with_changes("failover", mclt=60)
    assert changed.failover.mclt == 60 and a.failover.mclt == 3600


def test_full_file(tmp_path):
    a = load_answers(write(tmp_path, MINIMAL + """
[failover]
name = "dhcp-pair"
primary_port = 519
secondary_port = 520
hba = "ff:ff:ff:ff:ff:ff:ff:ff:ff:ff:ff:ff:ff:ff:ff:ff:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00"
pools = ["198.51.100.0/24", "203.0.113.0/25"]
[checks]
max_skew_seconds = 2
"""))
    assert a.failover.split is None and a.failover.hba.startswith("ff:")
    assert a.failover.pools == ("198.51.100.0/24", "203.0.113.0/25")
    assert a.checks.max_skew_seconds == 2.0


def test_missing_file_names_the_path(tmp_path):
    with pytest.raises(InputError, match="does not exist"):
        load_answers(tmp_path / "nope.toml")


@pytest.mark.parametrize("extra, key, words", [
    ('[failover]\nmclt_seconds = 60\n', "failover.mclt_seconds", "unknown key"),
    ('[failover]\nmlct = 60\n', "failover.mlct", "did you mean failover.mclt"),
    ('[omapi]\nport = "7911"\n', "omapi.port", "must be an integer"),
    ('[primary2]\nhost = "x"\n', "primary2", "unknown section"),
    ('[failover]\nsplit = 300\n', "failover.split", "outside 0..256"),
    ('[failover]\nsplit = 128\nhba = "00"\n', "failover.split", "both set"),
    ('[failover]\nprimary_port = 70000\n', "failover.primary_port", "not a TCP port"),
    ('[failover]\npools = ["198.51.100.1/24"]\n', "failover.pools", "not an IPv4 subnet"),
    ('[checks]\nmax_skew_seconds = 90\n', "checks.max_skew_seconds", "not a safe limit"),
    ('[omapi]\nport = true\n', "omapi.port", "must be an integer"),
])
def test_bad_values_are_named(tmp_path, extra, key, words):
    path = write(tmp_path, MINIMAL + extra)
    with pytest.raises(InputError) as info:
        load_answers(path)
    assert str(path) in info.value.message and key in info.value.message
    assert words in info.value.render()


def test_a_relative_config_path_is_refused(tmp_path):
    path = write(tmp_path, MINIMAL.replace('"198.51.100.11"\n', '"198.51.100.11"\n'
                                           'config = "dhcpd.conf"\n', 1))
    with pytest.raises(InputError) as info:
        load_answers(path)
    assert "primary.config" in info.value.message and "absolute path" in info.value.message


def test_missing_host_section(tmp_path):
    with pytest.raises(InputError, match=r"\[secondary\]: missing section"):
        load_answers(write(tmp_path, '[primary]\nhost = "a"\n'))


def test_wrong_type_for_host(tmp_path):
    with pytest.raises(InputError, match="primary.host: must be a string"):
        load_answers(write(tmp_path, '[primary]\nhost = 12\n[secondary]\nhost = "b"\n'))


def test_not_toml(tmp_path):
    with pytest.raises(InputError, match="not valid TOML"):
        load_answers(write(tmp_path, "[primary\nhost = 1"))


def test_dump_round_trips(tmp_path):
    a = load_answers(write(tmp_path, MINIMAL + '[failover]\npools = ["198.51.100.0/24"]\nmclt = 60\n'))
    again = answers_from_dict(tomllib.loads(dump_answers(a)), source="dump")
    assert again._replace(source=None) == a._replace(source=None)


def test_cli_reports_bad_answers_with_exit_2(tmp_path):
    path = write(tmp_path, MINIMAL + '[failover]\nmlct = 60\n')
    proc = run_cli("check", "--answers", str(path))
    assert proc.returncode == 2
    assert "failover.mlct" in proc.stderr and str(path) in proc.stderr
    assert "Traceback" not in proc.stderr


def test_documented_example_loads_with_the_documented_defaults():
    from tests.conftest import REPO

    a = load_answers(REPO / "docs" / "answers.example.toml")
    assert a.failover == type(a.failover)() and a.omapi == type(a.omapi)()
