"""Pairs found by the fourth sweep of the planner (issue 12: diffs, layout, existing OMAPI and
failover, errors) that broke its promise: each test names the input, what the plan did, and
what it must do."""

from __future__ import annotations

import pytest

from tests.helpers.conf import assert_dhcpd_and_lint_accept, planned_pair
from wizard.errors import InputError


def _subnet(net: str, nl: str = "\n", unit: str = "  ") -> str:
    return (f"subnet {net}.0 netmask 255.255.255.0 {{{nl}{unit}pool {{{nl}"
            f"{unit * 2}range {net}.10 {net}.20;{nl}{unit}}}{nl}}}{nl}")


# -- layout: a copied block takes the target file's style ------------------------------------

def test_a_subnet_copied_from_a_crlf_primary_into_an_lf_secondary_is_written_with_lf(tmp_path):
    # The copy kept the primary's \r\n: an LF file got a block of CRLF lines (and the line
    # the plan adds inside the copy, LF, in the middle of them).
    primary = _subnet("10.0.0", "\r\n") + _subnet("10.0.1", "\r\n")
    _, plan = planned_pair(tmp_path, primary, _subnet("10.0.0"))
    after = plan.main("secondary").after
    assert "subnet 10.0.1.0" in after and "\r" not in after
    assert_dhcpd_and_lint_accept(plan)


def test_a_subnet_copied_from_an_lf_primary_into_a_crlf_secondary_is_written_with_crlf(tmp_path):
    _, plan = planned_pair(tmp_path, _subnet("10.0.0") + _subnet("10.0.1"),
                           _subnet("10.0.0", "\r\n"))
    after = plan.main("secondary").after
    assert "subnet 10.0.1.0" in after and after.count("\n") == after.count("\r\n")


# -- existing OMAPI: what changes for its other clients is said ------------------------------

KEY = ("key omapi_key {\n  algorithm hmac-sha256;\n"
       "  secret c2VjcmV0LW9uZS1mb3ItdGhlLXN3ZWVwNC10ZXN0;\n}\n")


def test_an_existing_omapi_port_the_answers_change_is_said_with_how_to_keep_it(tmp_path):
    # omapi-port 7912 became 7911 (the answers' default) with no word: monitoring that
    # connects to 7912 stops working after the deployment.
    config = "omapi-port 7912;\nomapi-key omapi_key;\n" + KEY + _subnet("10.0.0")
    _, plan = planned_pair(tmp_path, config)
    assert "omapi-port 7911;" in plan.main("secondary").after
    for role in ("primary", "secondary"):
        note = next(n for n in plan.notes if n.startswith(f"{role}: ") and "omapi-port" in n)
        assert "conf:1: omapi-port 7912 changed to 7911" in note
        assert "set port = 7912 under [omapi]" in note


def test_open_omapi_that_the_plan_puts_behind_a_key_is_said(tmp_path):
    # omapi-port without omapi-key: omshell and scripts use it without a key. The plan adds
    # `omapi-key`, which locks them out, and said nothing.
    _, plan = planned_pair(tmp_path, "omapi-port 7911;\n" + _subnet("10.0.0"))
    assert "omapi-key omapi_key;" in plan.main("primary").after
    notes = [n for n in plan.notes if "OMAPI was open" in n]
    assert [n.split(":")[0] for n in notes] == ["primary", "secondary"]
    assert all("now requires key omapi_key" in n for n in notes)


def test_an_omapi_port_kept_as_it_is_says_nothing_of_it(tmp_path):
    config = "OMAPI-PORT 7911;\nomapi-key omapi_key;\n" + KEY + _subnet("10.0.0")
    _, plan = planned_pair(tmp_path, config)
    assert not [n for n in plan.notes if "omapi-port" in n or "OMAPI was open" in n]


def test_a_block_from_a_primary_indented_as_iscs_examples_takes_the_secondarys_spaces(tmp_path):
    # ISC's examples indent 4 spaces, then a tab for 8 columns (keama/tests/pool42.in4). A
    # subnet copied from such a primary into a 2-space secondary kept the tab of its pool's
    # lines, as no run of the primary's 4-space step matched it.
    def isc(net: str) -> str:
        return (f"subnet {net}.0 netmask 255.255.255.0 {{\n    pool {{\n"
                f"\trange {net}.10 {net}.20;\n    }}\n}}\n")

    _, plan = planned_pair(tmp_path, isc("10.0.0") + isc("10.0.1"), _subnet("10.0.0"))
    after = plan.main("secondary").after
    copied = after[after.index("subnet 10.0.1.0"):]
    assert copied == ('subnet 10.0.1.0 netmask 255.255.255.0 {\n  pool {\n'
                      '    failover peer "fo";\n    range 10.0.1.10 10.0.1.20;\n  }\n}\n')
    assert_dhcpd_and_lint_accept(plan)


def test_a_stray_tab_in_a_block_copied_between_space_indented_files_becomes_spaces(tmp_path):
    # keama/tests/groupsubnet4.in4 indents with 4 spaces but one line with a tab: copied to a
    # 4-space secondary, the tab came along (the steps of the two files being the same, the
    # copy was not re-indented at all).
    def subnet(net: str, stray: str) -> str:
        return (f"subnet {net}.0 netmask 255.255.255.0 {{\n    pool {{\n"
                f"        range {net}.10 {net}.20;\n    }}\n{stray}option routers {net}.1;\n}}\n")

    primary = subnet("10.0.0", "    ") + subnet("10.0.1", "\t")
    _, plan = planned_pair(tmp_path, primary, subnet("10.0.0", "    "))
    after = plan.main("secondary").after
    assert "\t" not in after
    assert "\n        option routers 10.0.1.1;\n" in after


def test_pools_replaced_from_the_primary_keep_their_lines_at_the_secondarys_columns(tmp_path):
    # keama/tests/optdatagrouppool4.in4 with the secondary's range shrunk: the primary's pool
    # replaced the secondary's, and its tab-indented line (8 columns, one step below the
    # pool) came out as 4 spaces then the tab.
    def subnet(hi: str) -> str:
        return ("subnet 10.5.5.0 netmask 255.255.255.0 {\n    pool {\n"
                f"        range 10.5.5.5 10.5.5.{hi};\n\tgroup fool {{\n"
                '            option domain-name "x";\n        }\n    }\n}\n')

    _, plan = planned_pair(tmp_path, subnet("10"), subnet("9"))
    after = plan.main("secondary").after
    assert "range 10.5.5.5 10.5.5.10;" in after
    assert "\n        group fool {\n" in after and "    \t" not in after
    assert_dhcpd_and_lint_accept(plan)


# -- errors ------------------------------------------------------------------------------------

def test_an_error_dhcpd_repeats_for_an_overlong_line_is_shown_once():
    # A 120 kB secret line: dhcpd said "token larger than internal buffer" eighty times, and
    # the refusal quoted all eighty (with their lines), burying the other error.
    from wizard.conf.validate import parse_dhcpd_output

    repeated = "/tmp/x.conf line 2: token larger than internal buffer\n  secret x\n  ^\n"
    output = repeated * 80 + "/tmp/x.conf line 3: semicolon expected.\n  }\n  ^\n"
    errors = parse_dhcpd_output(output, "/tmp/x.conf", "p.conf", "key k {\n  secret x\n}\n")
    assert [e.split("\n")[0] for e in errors] == [
        "p.conf:2:3: token larger than internal buffer", "p.conf:3:3: semicolon expected.",
        "p.conf: (79 repeats of the errors above left out)"]


def test_a_secondary_of_hosts_only_gives_its_own_step_to_the_lines_the_plan_writes(tmp_path):
    # keama/tests/global4.in4: a host block (kept as text, not read into statements) is the
    # only block, indented 4 spaces; the peer block, the key and the copied subnet took the
    # primary's tabs.
    host = "host h {\n    hardware ethernet 00:00:00:00:00:01;\n}\n"
    _, plan = planned_pair(tmp_path, host.replace("    ", "\t") + _subnet("10.0.0", unit="\t"),
                           host)
    after = plan.main("secondary").after
    assert "\t" not in after
    assert "\n    secondary;\n" in after and "\n        range 10.0.0.10 10.0.0.20;\n" in after


# -- diffs -------------------------------------------------------------------------------------

@pytest.mark.parametrize("odd", ["\x0c", "\r", "\x1c", "\x85", "\u2028"])
def test_a_diff_of_a_file_with_a_form_feed_or_a_lone_cr_applies_with_patch(tmp_path, odd):
    # Lines were cut where str.splitlines cuts (after a form feed, a lone \r, ...): the hunk
    # counts disagreed with patch's and a "No newline" marker stood mid-file; patch refused
    # the diff as malformed.
    import shutil
    import subprocess

    from wizard.conf.diff import unified

    if shutil.which("patch") is None:
        pytest.skip("patch is not installed")
    before = f"authoritative;\n# a{odd}b\nsubnet x {{\n  a;\n}}\n"
    after = f"authoritative;\n# a{odd}b\nnew;\nsubnet x {{\n  a;\n  b;\n}}\n"
    diff = unified(before, after, "a/f", "b/f")
    assert "No newline" not in diff
    (tmp_path / "f").write_bytes(before.encode())
    (tmp_path / "f.diff").write_bytes(diff.encode())
    subprocess.run(["patch", "-s", str(tmp_path / "f"), str(tmp_path / "f.diff")], check=True)
    assert (tmp_path / "f").read_bytes() == after.encode()


def test_a_header_paragraph_right_above_the_first_subnet_stays_whole_at_the_top(tmp_path):
    # "# header\n# more\nsubnet ...": the OMAPI and peer blocks went in between the two
    # comment lines (a single header line stayed first; a paragraph was cut after its first).
    config = "# site A\n# by hand\n" + _subnet("10.0.0")
    _, plan = planned_pair(tmp_path, config)
    for role in ("primary", "secondary"):
        after = plan.main(role).after
        assert after.startswith("# site A\n# by hand\nomapi-port 7911;\n")
        assert "\n\nsubnet 10.0.0.0" in after


def test_a_secondary_whose_wrapper_is_written_flush_left_gives_its_own_step(tmp_path):
    # `group {` with its subnet flush left and the subnet's lines tab-indented: nothing was
    # indented right inside a top-level block, so the lines the plan wrote took the primary's
    # two spaces.
    wrapped = "group {\n" + _subnet("10.0.0", unit="\t") + "}\n"
    _, plan = planned_pair(tmp_path, _subnet("10.0.0"), wrapped)
    after = plan.main("secondary").after
    assert "\n\tsecondary;\n" in after and "\n\t\tfailover peer \"fo\";\n" in after
    assert "  " not in after


# -- existing failover under another name ----------------------------------------------------

def _peer(role: str, name: str) -> str:
    me, other = ("198.51.100.11", "198.51.100.12")[::1 if role == "primary" else -1]
    extra = "  mclt 3600;\n  split 128;\n" if role == "primary" else ""
    return (f'failover peer "{name}" {{\n  {role};\n  address {me};\n  port 647;\n'
            f"  peer address {other};\n  peer port 647;\n{extra}}}\n")


def test_a_pair_whose_every_pool_is_in_another_relationship_is_a_located_error(tmp_path):
    # Both servers already run "dhcp-failover"; the answers say "fo". The plan left every
    # pool alone, declared nothing, exited 0: check and drill then look for "fo" in vain.
    pool = _subnet("10.0.0").replace("pool {\n", 'pool {\n    failover peer "dhcp-failover";\n')
    with pytest.raises(InputError) as info:
        planned_pair(tmp_path, _peer("primary", "dhcp-failover") + pool,
                     _peer("secondary", "dhcp-failover") + pool)
    assert str(info.value).startswith(f"{tmp_path / 'p.conf'}:11:")
    assert 'failover peer "dhcp-failover"' in str(info.value)
    assert 'set name = "dhcp-failover" under [failover]' in info.value.hint


def test_pools_left_to_another_relationship_beside_free_ones_still_plan(tmp_path):
    pool = _subnet("10.0.0").replace("pool {\n", 'pool {\n    failover peer "old";\n')
    primary = _peer("primary", "old").replace("198.51.100.12", "198.51.100.13") + pool
    _, plan = planned_pair(tmp_path, primary + _subnet("10.0.1"), _subnet("10.0.1"))
    assert 'failover peer "fo" {' in plan.main("primary").after
