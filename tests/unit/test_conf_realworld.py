"""Configs written the way real sites write them (not the way the generator does) that the
engine once got wrong: each test names the input and what went wrong."""

from __future__ import annotations

import pytest

from tests.conftest import run_cli
from tests.helpers.conf import answers, assert_dhcpd_and_lint_accept, needs_dhcpd, planned_pair
from wizard.conf.lint import lint_pair
from wizard.conf.model import load
from wizard.conf.validate import dhcpd_errors


def _subnet(lo: str, hi: str) -> str:
    return (f"subnet 198.51.100.0 netmask 255.255.255.0 {{\n"
            f"  pool {{ range {lo} {hi}; }}\n}}\n")


@needs_dhcpd
def test_addresses_with_leading_zeros_are_read_in_decimal_as_dhcpd_reads_them(tmp_path):
    # Padded columns (`198.51.100.010`) are decimal to dhcpd but octal to inet_aton: the
    # primary's .10-.20 read as .8-.16, the same as the secondary's real .8-.16, so the plan
    # and lint passed a pair whose pools differ; `.08` (no octal digit) was refused.
    primary = _subnet("198.051.100.010", "198.051.100.020")
    secondary = _subnet("198.51.100.8", "198.51.100.16")
    assert dhcpd_errors(primary) == [] and dhcpd_errors(_subnet("198.51.100.08", "198.51.100.09")) == []
    findings = lint_pair(load("p", text=primary), load("s", text=secondary))
    assert [f.id for f in findings if f.id == "range-outside-subnet"] == []
    _, plan = planned_pair(tmp_path, primary, secondary)
    assert [d.only_primary for d in plan.differences] == [("198.51.100.10-198.51.100.20",)]
    assert "range 198.051.100.010 198.051.100.020;" in plan.main("secondary").after
    assert_dhcpd_and_lint_accept(plan)
    _, plan = planned_pair(tmp_path, _subnet("198.51.100.08", "198.51.100.09"))
    assert_dhcpd_and_lint_accept(plan)


@needs_dhcpd
def test_an_address_written_with_spaces_around_its_dots_is_the_address_dhcpd_reads(tmp_path):
    # dhcpd reads an address as numbers and dots, each a token: `10 . 1 . 0 . 10` is an
    # address to it. The plan refused it ("`10` is not an IPv4 address").
    primary = ("subnet 198 . 51 . 100 . 0 netmask 255.255.255.0 {\n"
               "  pool { range 198 . 51 . 100 . 10 198.51.100 .20; }\n}\n")
    assert dhcpd_errors(primary) == []
    _, plan = planned_pair(tmp_path, primary, _subnet("198.51.100.10", "198.51.100.20"))
    assert plan.differences == []   # the same pool as the secondary's, written otherwise
    assert "range 198 . 51 . 100 . 10 198.51.100 .20;" in plan.main("primary").after
    assert_dhcpd_and_lint_accept(plan)
    _, plan = planned_pair(tmp_path, primary, _subnet("198.51.100.10", "198.51.100.30"))
    assert [d.only_primary for d in plan.differences] == [("198.51.100.10-198.51.100.20",)]


OLD_SECRET = "b3RoZXItb3RoZXItb3RoZXItb3RoZXItb3RoZXItb3RoZXI="
KEY = ("key omapi_key {{\n  algorithm hmac-md5;\n  secret{sep}{secret};\n}}\n"
       "omapi-port 7911;\nomapi-key omapi_key;\n")


@needs_dhcpd
@pytest.mark.parametrize("sep", ["\n    ", " # from the vault\n    "])
def test_a_replaced_secret_on_a_line_of_its_own_is_masked_in_the_diff_and_the_record(
        tmp_path, sep):
    # The secondary's own key, replaced by the primary's: the diff's `-    VALUE;` line (the
    # value below `secret`, or below a comment after it) went to stdout, the .diff and (the
    # comment case) the session's copy of the input unmasked.
    pool = _subnet("198.51.100.10", "198.51.100.20")
    primary = KEY.format(sep=" ", secret="c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LTEyMzQ1Ng==")
    (tmp_path / "p.conf").write_text(primary + pool)
    (tmp_path / "s.conf").write_text(KEY.format(sep=sep, secret=OLD_SECRET) + pool)
    answers(tmp_path)
    proc = run_cli("plan", "--answers", str(tmp_path / "answers.toml"), "--from",
                   str(tmp_path / "p.conf"), str(tmp_path / "s.conf"), "--out",
                   str(tmp_path / "out"), "--session", str(tmp_path / "session"))
    assert proc.returncode == 0, proc.stderr
    assert "its secret replaced" in proc.stdout and "-    ***REDACTED***;" in proc.stdout
    recorded = [p.read_text() for p in (tmp_path / "session").rglob("*") if p.is_file()]
    written = (tmp_path / "out" / "secondary.diff").read_text()
    assert all(OLD_SECRET not in text for text in (proc.stdout, proc.stderr, written, *recorded))


SECRET = "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LTEyMzQ1Ng=="


@needs_dhcpd
def test_the_omapi_key_is_found_as_dhcpd_finds_it_whatever_its_case_and_the_last_of_two(
        tmp_path):
    # dhcpd's key table ignores case and a key declared again replaces the first. The model
    # matched the spelling exactly: `key OMAPI_KEY` went unseen, a second key with a new
    # secret was added above it, and dhcpd kept using the old one (the last) while the
    # wizard held the new; of two `key omapi_key` blocks the model reused the first.
    pool = _subnet("198.51.100.10", "198.51.100.20")
    text = ("key OMAPI_KEY { algorithm hmac-md5; secret %s; }\nomapi-port 7911;\n"
            "omapi-key omapi_key;\n" % SECRET) + pool
    assert dhcpd_errors(text) == []
    _, plan = planned_pair(tmp_path, text)
    assert plan.secret == SECRET
    for role in ("primary", "secondary"):
        after = plan.main(role).after
        assert after.count("\nkey ") + after.startswith("key ") == 1
        assert "key OMAPI_KEY { algorithm" in after
    assert_dhcpd_and_lint_accept(plan)
    twice = ("key omapi_key { algorithm hmac-md5; secret c2VjcmV0LW9uZS1mb3ItdGhlLWZpcnN0; }\n"
             + text.replace("OMAPI_KEY", "omapi_key"))
    assert dhcpd_errors(twice) == []
    _, plan = planned_pair(tmp_path, twice)
    assert plan.secret == SECRET and "reused" in plan.secret_origin
    assert_dhcpd_and_lint_accept(plan)


def _caps_peer(role: str) -> str:
    me, other = ("11", "12") if role == "primary" else ("12", "11")
    balance = "  MCLT 3600;\n  SPLIT 128;\n" if role == "primary" else ""
    return (f'FAILOVER PEER "fo" {{\n  {role.upper()};\n  ADDRESS 198.51.100.{me};\n  PORT 647;\n'
            f"  PEER ADDRESS 198.51.100.{other};\n  PEER PORT 647;\n  MAX-RESPONSE-DELAY 60;\n"
            f"  MAX-UNACKED-UPDATES 10;\n{balance}  Load Balance Max Seconds 3;\n}}\n")


@needs_dhcpd
def test_settings_that_already_say_what_the_answers_ask_in_capitals_are_left_alone(tmp_path):
    # dhcpd reads keywords in any case; the plan rewrote `SPLIT 128;` as `split 128;` (and
    # `OMAPI-PORT 7911;`, `PRIMARY;`, ...): a diff of lines that change nothing.
    omapi = ("key omapi_key { algorithm hmac-md5; secret %s; }\nOMAPI-PORT 7911;\n"
             "Omapi-Key OMAPI_KEY;\n" % SECRET)
    pool = ('subnet 198.51.100.0 netmask 255.255.255.0 {\n'
            '  pool { failover peer "fo"; range 198.51.100.10 198.51.100.20; }\n}\n')
    primary, secondary = (omapi + _caps_peer(role) + pool for role in ("primary", "secondary"))
    assert dhcpd_errors(primary) == [] and dhcpd_errors(secondary) == []
    _, plan = planned_pair(tmp_path, primary, secondary)
    assert not plan.changed, [f.diff() for f in plan.files]
    _, plan = planned_pair(tmp_path, primary.replace("MCLT 3600", "MCLT 600"), secondary)
    assert [line for line in plan.main("primary").diff().splitlines()
            if line[:1] in "+-" and line[:3] not in ("+++", "---")] == ["-  MCLT 600;",
                                                                        "+  mclt 3600;"]


def _plan_cli(tmp_path, primary: str, secondary: str):
    """`dhcp-wizard plan --from` of the two texts, as a user runs it."""
    (tmp_path / "p.conf").write_text(primary)
    (tmp_path / "s.conf").write_text(secondary)
    answers(tmp_path)
    return run_cli("plan", "--answers", str(tmp_path / "answers.toml"), "--from",
                   str(tmp_path / "p.conf"), str(tmp_path / "s.conf"),
                   "--session", str(tmp_path / "session"))


_HAS = "subnet 198.51.100.0 netmask 255.255.255.0 {\n  pool { range 198.51.100.10 198.51.100.20; }\n}\n"


@needs_dhcpd
@pytest.mark.parametrize("defines, uses, says", [
    ("option voip-tftp code 150 = ip-address;\n", "option voip-tftp 192.0.2.5;",
     "uses option voip-tftp, which only the primary defines"),
    ("option space PXE;\noption PXE.mtftp-ip code 1 = ip-address;\n",
     "option PXE.mtftp-ip 192.0.2.5;", "uses option space PXE"),
    ("option space ubnt;\noption ubnt.unifi code 1 = ip-address;\n",
     "pool { vendor-option-space ubnt; range 203.0.113.10 203.0.113.20; }",
     "uses option space ubnt"),
    ("", "host printer { hardware ethernet 02:00:00:00:00:05; fixed-address 203.0.113.5; }",
     "host printer is declared in what the secondary must get"),
])
def test_a_copied_subnet_that_needs_a_definition_the_secondary_lacks_is_a_located_error(
        tmp_path, defines, uses, says):
    # The secondary lacks a subnet: the plan copies the primary's, which sets an option (or
    # space) that only the primary defines, or holds a host the secondary already declares
    # elsewhere (hosts are global). dhcpd refused the copy, and the plan's last check called
    # it a bug in the planner.
    extra = ("subnet 203.0.113.0 netmask 255.255.255.0 {\n"
             f"  {uses}\n  pool {{ range 203.0.113.30 203.0.113.40; }}\n}}\n")
    secondary = _HAS + ("host printer { hardware ethernet 02:00:00:00:00:05; }\n"
                        if "host" in uses else "")
    primary = defines + _HAS + extra
    assert dhcpd_errors(primary) == [] and dhcpd_errors(secondary) == []
    proc = _plan_cli(tmp_path, primary, secondary)
    assert proc.returncode == 2, proc.stderr
    line = primary.split("\n").index("  " + uses) + 1
    assert f"p.conf:{line}:" in proc.stderr and says in proc.stderr, proc.stderr
    assert "bug" not in proc.stderr
    # Defined on the secondary too (or no such host there), the copy goes through.
    _, plan = planned_pair(tmp_path, primary, defines + _HAS)
    assert_dhcpd_and_lint_accept(plan)


def test_a_copied_subnet_that_includes_a_file_is_refused_unless_the_secondary_has_it(tmp_path):
    # Copied as it is, the include names a file on the primary; the local checks read the
    # primary's copy and pass, while the secondary would look for it on its own disk.
    (tmp_path / "hosts-b.conf").write_text("host cam { hardware ethernet 02:00:00:00:00:07; }\n")
    inc = f'  include "{tmp_path / "hosts-b.conf"}";\n'
    subnet_b = ("subnet 203.0.113.0 netmask 255.255.255.0 {\n" + inc +
                "  pool { range 203.0.113.30 203.0.113.40; }\n}\n")
    primary = _HAS + subnet_b
    proc = _plan_cli(tmp_path, primary, _HAS)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    line = primary.split("\n").index(inc.rstrip("\n")) + 1
    assert f"p.conf:{line}:" in proc.stderr and "hosts-b.conf" in proc.stderr
    assert "copy" in proc.stderr and "bug" not in proc.stderr
    # The secondary with that subnet and include already: nothing is copied, the plan goes on.
    _, plan = planned_pair(tmp_path, primary, primary)
    assert_dhcpd_and_lint_accept(plan)
