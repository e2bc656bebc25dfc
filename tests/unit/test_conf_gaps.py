"""Pairs dhcpd accepts that the planner read otherwise than dhcpd does, or refused only at the
check of its own output (the gaps once named in the README's limits): each test names the
input and what the plan must do with it."""

from __future__ import annotations

import subprocess

import pytest

from tests.helpers.conf import (ANSWERS, DHCPD, answers, assert_dhcpd_and_lint_accept,
                                assert_replans_to_no_change, needs_dhcpd, planned_pair)
from wizard.cli import main
from wizard.conf.tokens import unescaped
from wizard.errors import InputError


SUBNET = "subnet 10.0.0.0 netmask 255.255.255.0 {\n  pool { range 10.0.0.10 10.0.0.20; }\n}\n"


def _peer(name: str, role: str) -> str:
    mine, other = ("11", "12") if role == "primary" else ("12", "11")
    extra = " mclt 600; split 128;" if role == "primary" else ""
    return (f'failover peer "{name}" {{ {role}; address 198.51.100.{mine}; '
            f"peer address 198.51.100.{other}; max-response-delay 60; "
            f"max-unacked-updates 10; load balance max seconds 3;{extra} }}\n")


def _shared(role: str, lines: str) -> str:
    mine, other = ("11", "12") if role == "primary" else ("12", "11")
    extra = "mclt 600; split 128; " if role == "primary" else ""
    return ("shared-network campus {\n"
            f'  failover peer "old" {{ {role}; address 198.51.100.{mine}; '
            f"peer address 198.51.100.{other}; max-response-delay 60; "
            f"max-unacked-updates 10; load balance max seconds 3; {extra}}}\n"
            "  subnet 198.51.100.0 netmask 255.255.255.0 {\n"
            '    pool { failover peer "old"; range 198.51.100.10 198.51.100.20; }\n'
            f"{lines}"
            "  }\n}\n")


def _answers_named(tmp_path, name: str):
    from wizard.answers import load_answers

    (tmp_path / "answers.toml").write_text(ANSWERS.format(failover="", omapi="").replace(
        'name = "fo"', f'name = "{name}"'))
    return load_answers(tmp_path / "answers.toml")


def _plan_named(tmp_path, name: str, primary: str, secondary: str):
    from wizard.conf.plan import plan_pair

    (tmp_path / "p.conf").write_text(primary)
    (tmp_path / "s.conf").write_text(secondary)
    return plan_pair(_answers_named(tmp_path, name), str(tmp_path / "p.conf"),
                     str(tmp_path / "s.conf"))


SECOND_POOL = "    pool { range 198.51.100.30 198.51.100.40; }\n"


@needs_dhcpd
def test_pools_inheriting_the_peer_of_their_shared_network_are_left_in_it(tmp_path):
    # The peer block inside the shared-network gives every later pool of it that peer: the
    # plan wrote `failover peer "fo";` into the second pool (a second relationship between
    # the same two servers, taking the pool out of the one it was in). Planned under the
    # relationship's own name, the inherited pool stays in it (named there, as the plan
    # names every pool it puts in failover: dhcpd counts only those as referring).
    plan = _plan_named(tmp_path, "old", _shared("primary", SECOND_POOL),
                       _shared("secondary", SECOND_POOL))
    for role in ("primary", "secondary"):
        after = plan.main(role).after
        assert after.count('failover peer "old";') == 2 and 'peer "fo"' not in after, after
        assert after.count('failover peer "old" {') == 1, after
    assert_dhcpd_and_lint_accept(plan)


def test_pools_inheriting_another_relationship_count_as_taken_by_it(tmp_path):
    # Under another name than the answers', both pools are that relationship's: refused,
    # not planned as if the inherited one were free (test_conf_sweep4 has the explicit case).
    with pytest.raises(InputError) as err:
        planned_pair(tmp_path, _shared("primary", SECOND_POOL),
                     _shared("secondary", SECOND_POOL))
    assert 'every pool in scope (2, this one first) already belongs to failover peer "old"' \
        in err.value.message


def _planned_tree(tmp_path, text: str):
    """The tree `plan --out` writes for text as both peers' config, which dhcpd -t run
    beside it accepts; where it was written."""
    for name in ("p.conf", "s.conf"):
        (tmp_path / name).write_text(text)
        assert subprocess.run([DHCPD, "-4", "-t", "-cf", name], cwd=tmp_path,
                              capture_output=True).returncode == 0
    answers(tmp_path)
    out = tmp_path / "out"
    assert main(["plan", "--answers", str(tmp_path / "answers.toml"), "--from",
                 str(tmp_path / "p.conf"), str(tmp_path / "s.conf"), "--out", str(out),
                 "--session", str(tmp_path / "session")]) == 0
    return out


@needs_dhcpd
def test_a_tree_whose_nested_include_names_its_path_from_the_main_files_directory(tmp_path,
                                                                                 capsys):
    # `dhcpd -t -cf p.conf`, run beside p.conf, reads sub/a.conf's `include "sub/b.conf"`
    # as sub/b.conf (its working directory); the plan looked for sub/sub/b.conf and refused.
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "a.conf").write_text('  include "sub/b.conf";\n')
    (tmp_path / "sub" / "b.conf").write_text("  pool { range 198.51.100.10 198.51.100.20; }\n")
    out = _planned_tree(tmp_path, 'subnet 198.51.100.0 netmask 255.255.255.0 {\n'
                                  '  include "sub/a.conf";\n}\n')
    for role in ("primary", "secondary"):
        copy = out / f"{role}-includes" / str(tmp_path / "sub" / "b.conf").lstrip("/")
        assert 'failover peer "fo";' in copy.read_text()
        proc = subprocess.run([DHCPD, "-4", "-t", "-cf", str(out / f"{role}.conf")],
                              capture_output=True, text=True)
        assert proc.returncode == 0, proc.stderr
    assert_replans_to_no_change(tmp_path, out, capsys)


@pytest.mark.parametrize("written, name", [
    (r'x\"y.conf', 'x"y.conf'), (r'a\\b.conf', "a\\b.conf"), (r'\x61\142.conf', "ab.conf"),
    (r'tab\there', "tab\there"), (r'caf\351', "caf\udce9"), ("plain.conf", "plain.conf")])
def test_a_strings_escapes_are_read_as_dhcpds_lexer_reads_them(written, name):
    assert unescaped(written) == name


@needs_dhcpd
def test_an_include_whose_file_name_has_an_escaped_quote_is_planned(tmp_path, capsys):
    # dhcpd reads `include "x\"y.conf"` as the file x"y.conf; the plan looked for x\"y.conf
    # and refused a config dhcpd accepts.
    (tmp_path / 'x"y.conf').write_text("  pool { range 198.51.100.10 198.51.100.20; }\n")
    out = _planned_tree(tmp_path, 'subnet 198.51.100.0 netmask 255.255.255.0 {\n'
                                  '  include "x\\"y.conf";\n}\n')
    assert 'failover peer "fo";' in (out / "primary-includes" / str(tmp_path).lstrip("/")
                                     / 'x"y.conf').read_text()
    assert subprocess.run([DHCPD, "-4", "-t", "-cf", str(out / "primary.conf")],
                          capture_output=True).returncode == 0
    assert_replans_to_no_change(tmp_path, out, capsys)


@pytest.mark.parametrize("role", ["primary", "secondary"])
def test_a_relationship_with_the_partner_on_one_side_only_is_refused_up_front(tmp_path, role):
    # Half of an earlier setup, under another name than the answers': the plan added "fo" on
    # both sides, left "old" on one, and only its check of the output (lint's
    # peer-name-mismatch) refused, pointing at a line the plan wrote.
    plain = SUBNET
    half = _peer("old", role) + SUBNET.replace("pool {", 'pool { failover peer "old";')
    primary, secondary = (half, plain) if role == "primary" else (plain, half)
    with pytest.raises(InputError) as err:
        planned_pair(tmp_path, primary, secondary)
    e = err.value
    where = tmp_path / ("p.conf" if role == "primary" else "s.conf")
    assert e.message.startswith(f"{where}:1:15: the {role} declares failover peer \"old\"")
    assert 'set `name = "old"` under [failover]' in e.hint


def test_the_same_relationship_named_in_the_answers_is_completed(tmp_path):
    half = _peer("old", "secondary") + SUBNET.replace("pool {", 'pool { failover peer "old";')
    plan = _plan_named(tmp_path, "old", SUBNET, half)
    assert 'failover peer "old" {' in plan.main("primary").after
    assert_dhcpd_and_lint_accept(plan)


@needs_dhcpd
def test_a_class_declared_before_the_subnet_in_the_same_group_is_known_to_the_copied_pool(
        tmp_path):
    # Classes were judged by the top-level statement they are under only: one declared in
    # the same group as the subnet, above it, was taken for one declared too late, and a
    # valid pair refused. Classes now follow the rule options and spaces follow (carried).
    def conf(last: str) -> str:
        return ("group {\n"
                '  class "phones" { match if substring(option vendor-class-identifier, 0, 4)'
                ' = "SIP/"; }\n'
                "  subnet 198.51.100.0 netmask 255.255.255.0 {\n"
                '    pool { allow members of "phones"; range 198.51.100.10 '
                f"198.51.100.{last}; }}\n  }}\n}}\n")
    _, plan = planned_pair(tmp_path, conf("20"), conf("30"))
    assert "198.51.100.10 198.51.100.20" in plan.main("secondary").after
    assert_dhcpd_and_lint_accept(plan)


def test_a_class_declared_after_the_subnet_in_the_same_group_is_still_refused(tmp_path):
    # The secondary's own pool names no class, so dhcpd accepts it with the class below; the
    # primary's pool, which names it, would land above the declaration.
    cls = ('class "phones" { match if substring(option vendor-class-identifier, 0, 4)'
           ' = "SIP/"; }\n')
    primary = (cls + "subnet 198.51.100.0 netmask 255.255.255.0 {\n"
               '  pool { allow members of "phones"; range 198.51.100.10 198.51.100.20; }\n}\n')
    secondary = ("group {\n  subnet 198.51.100.0 netmask 255.255.255.0 {\n"
                 "    pool { range 198.51.100.10 198.51.100.30; }\n  }\n  " + cls + "}\n")
    with pytest.raises(InputError) as err:
        planned_pair(tmp_path, primary, secondary)
    assert 'names class "phones", which the secondary declares only further down' in \
        err.value.message
    assert f"{tmp_path / 's.conf'}:5" in err.value.message
