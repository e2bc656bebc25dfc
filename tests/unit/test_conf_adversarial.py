"""Configs a sysadmin might really have that broke the engine once: each test names the input
and what went wrong."""

from __future__ import annotations

import pytest

from tests.helpers.conf import answers, needs_dhcpd, planned_pair
from tests.conftest import run_cli
from wizard.conf.lint import lint_pair
from wizard.conf.model import load
from wizard.conf.validate import dhcpd_errors
from wizard.errors import InputError


def _plan_cli(tmp_path, primary: bytes, secondary: bytes | None = None):
    (tmp_path / "p.conf").write_bytes(primary)
    (tmp_path / "s.conf").write_bytes(primary if secondary is None else secondary)
    answers(tmp_path)  # writes tmp_path / "answers.toml"
    return run_cli("plan", "--answers", str(tmp_path / "answers.toml"), "--from",
                   str(tmp_path / "p.conf"), str(tmp_path / "s.conf"),
                   "--session", str(tmp_path / "session"))


def test_latin1_byte_on_the_broken_line_is_a_located_error_not_a_crash(tmp_path):
    # A Latin-1 comment (not UTF-8) on the line of the error: the message once carried the
    # undecodable byte as a lone surrogate, and writing it to the session record crashed.
    text = (b"subnet 198.51.100.0 netmask 255.255.255.0 {\n"
            b"  range 198.51.100.10 198.51.100.20 # caf\xe9\n}\n")
    proc = _plan_cli(tmp_path, text)
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr and "internal error" not in proc.stderr
    assert "p.conf:2:" in proc.stderr and "expected ';' before '}'" in proc.stderr


def test_undecodable_bytes_in_the_shown_line_keep_the_caret_under_the_column():
    from wizard.conf.loader import decode

    raw = (b"subnet 198.51.100.0 netmask 255.255.255.0 {\n"
           b'  option x "\xe9\xe9"; range 198.51.100.1 x;\n}\n')
    with pytest.raises(InputError) as err:
        load("c.conf", text=decode(raw))
    message = str(err.value)
    message.encode("utf-8")  # printable and storable: no lone surrogate left
    shown, caret = message.splitlines()[1:3]
    assert shown[caret.index("^")] == "x"


def test_form_feed_does_not_shift_the_line_shown_with_an_error():
    # Emacs page breaks (^L) are line breaks to str.splitlines, not to dhcpd: the message
    # named line 4 but showed another line.
    text = ("# section one\n\x0c\n"
            "subnet 198.51.100.0 netmask 255.255.255.0 {\n"
            "  range 198.51.100.10 198.51.100.300;\n}\n")
    with pytest.raises(InputError) as err:
        load("c.conf", text=text)
    lines = str(err.value).splitlines()
    assert lines[0].startswith("c.conf:4:")
    assert "198.51.100.300" in lines[1]


def test_form_feed_does_not_shift_the_line_shown_with_a_dhcpd_complaint():
    from wizard.conf.validate import parse_dhcpd_output

    text = "# one\n\x0c\nnot-a-statement;\n"
    output = "/tmp/x.conf line 3: unknown thing\nnot-a-statement;\n^\n"
    [error] = parse_dhcpd_output(output, "/tmp/x.conf", "c.conf", text)
    assert error.splitlines()[1].strip() == "not-a-statement;"


def _errors(plan) -> list:
    p, s = (load(role, text=plan.main(role).after) for role in ("primary", "secondary"))
    return [f.render() for f in lint_pair(p, s) if f.severity == "error"]


@needs_dhcpd
def test_a_subnet_only_the_secondary_has_stays_out_of_failover(tmp_path):
    # The plan's note said "left out of failover", yet its bare range was wrapped in a
    # failover pool: the pair then differed (lint: pools-differ) on a subnet the primary
    # does not serve at all.
    primary = ("subnet 198.51.100.0 netmask 255.255.255.0 {\n"
               "  range 198.51.100.10 198.51.100.20;\n}\n")
    secondary = primary + ("subnet 10.30.0.0 netmask 255.255.0.0 {\n"
                           "  range 10.30.1.1 10.30.1.200;\n}\n")
    _, plan = planned_pair(tmp_path, primary, secondary)
    after = plan.main("secondary").after
    assert after.endswith("subnet 10.30.0.0 netmask 255.255.0.0 {\n"
                          "  range 10.30.1.1 10.30.1.200;\n}\n")
    assert any("10.30.0.0/16" in note and "left out of failover" in note for note in plan.notes)
    assert _errors(plan) == []
    assert dhcpd_errors(after) == []


def _peer(role: str, extra: str = "") -> str:
    """A peer block named as conf_helpers' answers name it."""
    me, other = ("11", "12") if role == "primary" else ("12", "11")
    balance = "  mclt 600;\n  split 128;\n" if role == "primary" else ""
    return (f'failover peer "fo" {{\n  {role};\n  address 198.51.100.{me};\n'
            f"  peer address 198.51.100.{other};\n{balance}{extra}}}\n")


POOL = ('subnet 198.51.100.0 netmask 255.255.255.0 {\n'
        '  pool { failover peer "fo"; range 198.51.100.10 198.51.100.20; }\n}\n')


@needs_dhcpd
def test_load_balance_max_secs_is_replaced_not_kept_beside_seconds(tmp_path):
    # dhcpd's own message says "expecting 'secs'", so configs carry `secs`, which it refuses.
    # The plan kept that line and added `load balance max seconds` below it.
    extra = "  load balance max secs 5;\n"
    primary, secondary = _peer("primary", extra) + POOL, _peer("secondary", extra) + POOL
    _, plan = planned_pair(tmp_path, primary, secondary)
    for role in ("primary", "secondary"):
        after = plan.main(role).after
        assert "secs" not in after and after.count("load balance max seconds 3;") == 1
        assert dhcpd_errors(after) == []
    assert _errors(plan) == []


def test_lint_says_load_balance_max_secs_is_not_a_peer_statement():
    extra = "  load balance max secs 5;\n"
    findings = lint_pair(load("p", text=_peer("primary", extra) + POOL),
                         load("s", text=_peer("secondary", extra) + POOL))
    assert {(f.id, f.location) for f in findings if f.severity == "error"} == {
        ("peer-unknown-statement", "p:7"), ("peer-unknown-statement", "s:5")}


@needs_dhcpd
def test_a_crlf_file_gets_its_new_lines_with_crlf_too(tmp_path):
    # Written on Windows and copied over: the new lines came with bare \n, a file of mixed
    # line endings that editors and diffs then show as changed everywhere or garbled.
    text = ("authoritative;\r\n# \u00dcnic\u00f8de \u2603\r\n"
            "subnet 198.51.100.0 netmask 255.255.255.0 {\r\n"
            "\toption routers 198.51.100.1;\r\n\trange 198.51.100.10 198.51.100.20;\r\n}")
    _, plan = planned_pair(tmp_path, text)
    for role in ("primary", "secondary"):
        after = plan.main(role).after
        assert after.count("\n") == after.count("\r\n") > text.count("\n")
        assert dhcpd_errors(after) == []
    assert _errors(plan) == []
    _, again = planned_pair(tmp_path, plan.main("primary").after, plan.main("secondary").after)
    assert not again.changed


def test_a_file_of_mixed_line_endings_is_left_as_it_is_where_not_edited(tmp_path):
    text = ("authoritative;\r\n"
            "subnet 198.51.100.0 netmask 255.255.255.0 {\n"
            "  pool { range 198.51.100.10 198.51.100.20; }\n}\n")
    _, plan = planned_pair(tmp_path, text)
    assert plan.main("primary").after.count("\r\n") == 1


def test_a_crlf_secondary_given_the_primarys_pools_keeps_crlf(tmp_path):
    primary = ("subnet 198.51.100.0 netmask 255.255.255.0 {\r\n"
               "  pool { range 198.51.100.10 198.51.100.20; }\r\n}\r\n")
    _, plan = planned_pair(tmp_path, primary, primary.replace(".20;", ".30;"))
    after = plan.main("secondary").after
    assert "198.51.100.20;" in after and after.count("\n") == after.count("\r\n")


@needs_dhcpd
def test_chosen_subnet_of_a_shared_network_with_pools_at_its_level_lints_clean(tmp_path):
    # The pools sit in the shared-network, not in its subnets; only 198.51.100.0/24 is chosen,
    # so the plan leaves the 203.0.113.x pool alone, but lint called that pool one "in a
    # failover shared-network" without a peer: an error on the wizard's own plan.
    text = ('shared-network "floor1" {\n'
            "  subnet 198.51.100.0 netmask 255.255.255.0 { option routers 198.51.100.1; }\n"
            "  subnet 203.0.113.0 netmask 255.255.255.0 { option routers 203.0.113.1; }\n"
            "  pool { range 198.51.100.10 198.51.100.20; }\n"
            "  pool { range 203.0.113.10 203.0.113.20; }\n}\n")
    _, plan = planned_pair(tmp_path, text, failover='pools = ["198.51.100.0/24"]')
    after = plan.main("primary").after
    assert '  pool { range 203.0.113.10 203.0.113.20; }\n' in after
    assert dhcpd_errors(after) == []
    assert _errors(plan) == []


def test_a_pool_at_shared_network_level_without_peer_is_still_found_in_a_failover_subnet():
    text = ('shared-network "floor1" {\n'
            "  subnet 198.51.100.0 netmask 255.255.255.0 { option routers 198.51.100.1; }\n"
            '  pool { failover peer "fo"; range 198.51.100.10 198.51.100.20; }\n'
            "  pool { range 198.51.100.30 198.51.100.40; }\n}\n")
    p, s = (load(n, text=_peer(role) + text) for n, role in (("p", "primary"),
                                                              ("s", "secondary")))
    found = {(f.id, f.location) for f in lint_pair(p, s) if f.severity == "error"}
    assert ("pool-without-peer", "p:11") in found


def test_settings_added_to_a_one_line_peer_block_stay_on_its_line(tmp_path):
    # They went on new lines, leaving `}` at the end of the last one.
    peer = ('failover peer "fo" { primary; address 198.51.100.11; peer address 198.51.100.12;'
            ' mclt 10; split 128; }\n')
    _, plan = planned_pair(tmp_path, peer + POOL)
    head = plan.main("primary").after.split("\n")
    line = next(x for x in head if x.startswith('failover peer "fo"'))
    assert line.endswith(" load balance max seconds 3; }")
    assert "port 647; peer port 647;" in line


def test_an_included_file_is_edited_with_its_own_indentation(tmp_path):
    # The main file indents with tabs, the included one with two spaces: the wrapped range
    # got the main file's tab inside two-space lines.
    from wizard.conf.plan import plan_pair

    inc = tmp_path / "subnets.conf"
    inc.write_text("subnet 198.51.100.0 netmask 255.255.255.0 {\n"
                   "  option routers 198.51.100.1;\n  range 198.51.100.10 198.51.100.20;\n}\n")
    main = f'group {{\n\toption domain-name "x";\n}}\ninclude "{inc}";\n'
    for name in ("p.conf", "s.conf"):
        (tmp_path / name).write_text(main)
    plan = plan_pair(answers(tmp_path), str(tmp_path / "p.conf"), str(tmp_path / "s.conf"))
    [included] = [f for f in plan.files if f.role == "primary" and f.path == str(inc)]
    assert ('  pool {\n    failover peer "fo";\n    range 198.51.100.10 198.51.100.20;\n  }\n'
            in included.after)
    assert '\tprimary;\n' in plan.main("primary").after


def test_a_byte_order_mark_is_a_located_error_as_dhcpd_refuses_it(tmp_path):
    # Saved by a Windows editor: invisible, dhcpd says "line 0: expecting a parameter or
    # declaration", and the plan went ahead with it as part of the first word.
    text = ("\ufeffauthoritative;\r\nsubnet 198.51.100.0 netmask 255.255.255.0 {\r\n"
            "  range 198.51.100.10 198.51.100.20;\r\n}\r\n").encode("utf-8")
    proc = _plan_cli(tmp_path, text)
    assert proc.returncode == 2, proc.stderr
    assert "p.conf:1:1: the file starts with a byte-order mark" in proc.stderr
    assert "^" in proc.stderr and "Traceback" not in proc.stderr


SHARED_REF = ('shared-network "lan" {\n  failover peer "fo";\n'
              "  subnet 198.51.100.0 netmask 255.255.255.0 {\n"
              "    pool { range 198.51.100.10 198.51.100.20; }\n  }\n}\n")


@needs_dhcpd
def test_pools_that_only_inherit_the_peer_from_their_shared_network_get_a_reference(tmp_path):
    # dhcpd gives such pools the peer, yet its sanity check does not count them ("Failover
    # peer, fo, has no referring pools"): the plan kept them as they were, and dhcpd refused
    # both configs.
    _, plan = planned_pair(tmp_path, _peer("primary") + SHARED_REF,
                           _peer("secondary") + SHARED_REF)
    for role in ("primary", "secondary"):
        after = plan.main(role).after
        assert 'pool { failover peer "fo"; range 198.51.100.10' in after
        assert dhcpd_errors(after) == []
    assert _errors(plan) == []


def test_lint_does_not_count_an_inherited_peer_as_a_referring_pool():
    p, s = (load(n, text=_peer(role) + SHARED_REF) for n, role in (("p", "primary"),
                                                                    ("s", "secondary")))
    found = {(f.id, f.location) for f in lint_pair(p, s) if f.severity == "error"}
    assert {("peer-unreferenced", "p:1"), ("peer-unreferenced", "s:1")} <= found


def test_pools_of_a_class_the_secondary_lacks_are_a_located_error_not_a_broken_copy(tmp_path):
    # The primary's pools admit members of a class the secondary never declares: copied
    # as they are, the secondary's config was refused by dhcpd ("no such class: voip").
    primary = ('class "voip" { match if substring(option vendor-class-identifier, 0, 4) = '
               '"Poly"; }\nsubnet 198.51.100.0 netmask 255.255.255.0 {\n'
               '  pool {\n    allow members of "voip";\n    range 198.51.100.10 198.51.100.20;\n'
               "  }\n  pool { range 198.51.100.30 198.51.100.40; }\n}\n")
    secondary = ("subnet 198.51.100.0 netmask 255.255.255.0 {\n"
                 "  pool { range 198.51.100.10 198.51.100.40; }\n}\n")
    with pytest.raises(InputError) as err:
        planned_pair(tmp_path, primary, secondary)
    message = str(err.value)
    assert message.startswith(f"{tmp_path / 'p.conf'}:4:5: ")
    assert '"voip"' in message and "secondary" in message
    # With the class on the secondary too, the pools are copied.
    _, plan = planned_pair(tmp_path, primary, primary.split("\n", 1)[0] + "\n" + secondary)
    assert dhcpd_errors(plan.main("secondary").after) == []


_VOIP = 'class "voip" { match if substring(option vendor-class-identifier, 0, 4) = "Poly"; }\n'
_VOIP_POOLS = ("subnet 198.51.100.0 netmask 255.255.255.0 {\n"
               '  pool { allow members of "voip"; range 198.51.100.10 198.51.100.20; }\n}\n')
_BARE_POOL = ("subnet 198.51.100.0 netmask 255.255.255.0 {\n"
              "  pool { range 198.51.100.10 198.51.100.40; }\n}\n")


@needs_dhcpd
def test_a_class_the_secondary_declares_inside_a_group_admits_the_copied_pools(tmp_path):
    # dhcpd knows a class declared in a group (or a subnet, or an include) for the whole
    # config: the plan refused the copy, saying the secondary did not declare it.
    _, plan = planned_pair(tmp_path, _VOIP + _VOIP_POOLS, "group {\n  " + _VOIP + "}\n"
                           + _BARE_POOL)
    assert 'allow members of "voip"' in plan.main("secondary").after
    assert dhcpd_errors(plan.main("secondary").after) == []


def test_a_class_the_secondary_declares_after_the_subnet_is_a_located_error(tmp_path):
    # Declared further down, the class is unknown where the copied pool names it: dhcpd
    # refused the planned secondary (no such class), which the plan called its own bug.
    with pytest.raises(InputError) as err:
        planned_pair(tmp_path, _VOIP + _VOIP_POOLS, _BARE_POOL + _VOIP)
    message = str(err.value)
    assert message.startswith(f"{tmp_path / 'p.conf'}:3:10: ")
    assert f"further down ({tmp_path / 's.conf'}:4)" in message
    assert "before the subnets" in err.value.hint


def test_a_subnet_the_secondary_declares_with_another_mask_is_a_located_error(tmp_path):
    # Config drift: /24 on the primary, /25 on the secondary. The plan copied the /24 beside
    # the /25, and dhcpd refused the secondary ("lease ... is declared twice").
    primary = ("subnet 198.51.100.0 netmask 255.255.255.0 {\n"
               "  pool { range 198.51.100.10 198.51.100.20; }\n}\n")
    secondary = primary.replace("255.255.255.0 ", "255.255.255.128 ")
    with pytest.raises(InputError) as err:
        planned_pair(tmp_path, primary, "# drifted\n" + secondary)
    message = str(err.value)
    assert message.startswith(f"{tmp_path / 's.conf'}:2:1: ")
    assert "198.51.100.0/25" in message and "198.51.100.0/24" in message


def test_the_overlap_search_agrees_with_comparing_every_pair():
    import random

    from wizard.conf.pairing import _span, _Spans

    rnd = random.Random(7)
    for _ in range(200):
        lines = []
        for _ in range(rnd.randint(0, 8)):
            prefix = rnd.choice((8, 16, 20, 24, 25, 30))
            net = (10 << 24 | rnd.randrange(1 << 16) << 8) & (0xFFFFFFFF << (32 - prefix))
            mask = 0xFFFFFFFF << (32 - prefix) & 0xFFFFFFFF
            lines.append(f"subnet {_dotted(net)} netmask {_dotted(mask)} {{ }}")
        config = load("s", text="\n".join(lines) + "\n")
        spans = _Spans(config)
        lo = 10 << 24 | rnd.randrange(1 << 16) << 8
        hi = lo + rnd.choice((0, 127, 255, 4095))
        brute = [s for s in config.subnets if _span(s)[0] <= hi and lo <= _span(s)[1]]
        found = spans.overlapping(lo, hi)
        assert (found is None) == (not brute) and (found is None or found in brute)


def _dotted(addr: int) -> str:
    return ".".join(str(addr >> shift & 255) for shift in (24, 16, 8, 0))


UPPER = ("Subnet 198.51.100.0 NETMASK 255.255.255.0 {\n"
         "  Pool { FAILOVER PEER \"fo\"; Range 198.51.100.10 198.51.100.20; }\n"
         "  POOL { RANGE 198.51.100.30 198.51.100.40; }\n"
         "  Range Dynamic-BOOTP 198.51.100.50 198.51.100.60;\n"
         "}\n")


@needs_dhcpd
def test_keywords_in_capitals_are_read_as_dhcpd_reads_them(tmp_path):
    # dhcpd's keywords are case-insensitive. `Subnet`, `Pool`, `Range` went unseen (the plan
    # said there was nothing to put under failover) and `FAILOVER PEER` got a second
    # reference.
    peer = _peer("primary").replace("primary;", "PRIMARY;").replace("mclt", "MCLT")
    _, plan = planned_pair(tmp_path, peer + UPPER, _peer("secondary") + UPPER)
    after = plan.main("primary").after
    assert '  Pool { FAILOVER PEER "fo"; Range 198.51.100.10' in after
    assert after.count('failover peer "fo";') == 2 and after.count("PEER") == 1
    assert 'POOL { failover peer "fo"; RANGE 198.51.100.30' in after
    assert 'pool {\n    failover peer "fo";\n    Range 198.51.100.50' in after
    assert after.count("PRIMARY;") + after.count("primary;") == 1
    assert after.count("mclt") + after.count("MCLT") == 1
    for role in ("primary", "secondary"):
        assert dhcpd_errors(plan.main(role).after) == []
    assert _errors(plan) == []
    _, again = planned_pair(tmp_path, after, plan.main("secondary").after)
    assert not again.changed


@needs_dhcpd
def test_lint_does_not_advise_no_failover_peer_which_dhcpd_refuses():
    # The man page documents `no failover peer;` in a pool; dhcpd 4.4.3 says "expecting a
    # parameter or declaration" there, so following lint's advice broke the config.
    pool = ('subnet 198.51.100.0 netmask 255.255.255.0 {\n'
            '  pool { failover peer "fo"; range 198.51.100.10 198.51.100.20; }\n'
            "  pool { no failover peer; range 198.51.100.30 198.51.100.40; }\n}\n")
    assert dhcpd_errors(_peer("primary") + pool) != []
    bootp = POOL.replace("range 198", "range dynamic-bootp 198")
    p, s = (load(n, text=_peer(role) + bootp) for n, role in (("p", "primary"),
                                                               ("s", "secondary")))
    [finding] = [f for f in lint_pair(p, s) if f.id == "bootp-in-failover" and f.location == "p:9"]
    assert "no failover peer" not in finding.message


@needs_dhcpd
def test_a_comment_between_the_equals_and_a_record_type_is_read(tmp_path):
    # dhcpd accepts it; the parser took the record for a block and refused the file.
    text = ("option foo code 200 = # a record\n  { ip-address, text };\n"
            "option bar code 201 = array of # RFC 3442 style\n  { ip-address, integer 8 };\n"
            "subnet 198.51.100.0 netmask 255.255.255.0 { range 198.51.100.10 198.51.100.20; }\n")
    assert dhcpd_errors(text) == []
    config = load("c.conf", text=text)
    assert config.main.render() == text and len(config.subnets) == 1
    assert [n.keyword for n in config.main.children] == ["option", "option", "subnet"]
    _, plan = planned_pair(tmp_path, text)
    assert dhcpd_errors(plan.main("primary").after) == []


@needs_dhcpd
def test_a_setting_written_twice_in_the_peer_block_is_set_once(tmp_path):
    # dhcpd takes the last of the two; the plan set the first and left the last, so the
    # server ran with the old value while the plan said otherwise.
    extra = "  mclt 600;\n  split 255;\n  address 198.51.100.99;\n"
    _, plan = planned_pair(tmp_path, _peer("primary", extra) + POOL,
                           _peer("secondary") + POOL)
    after = plan.main("primary").after
    block = after[after.index('failover peer "fo" {'):after.index("}", after.index("mclt"))]
    assert block.count("mclt") == 1 and "mclt 3600;" in block
    assert block.count("split") == 1 and "split 128;" in block
    assert block.count("  address") == 1 and "  address 198.51.100.11;" in block
    assert any("mclt" in note and "twice" in note for note in plan.notes)
    assert dhcpd_errors(after) == [] and _errors(plan) == []


def test_a_utf16_file_is_named_as_such(tmp_path):
    # Notepad's "Unicode" is UTF-16 with a BOM: the message was "expected ';' at end of
    # file" on a line of NUL bytes.
    text = "authoritative;\r\n".encode("utf-16")
    proc = _plan_cli(tmp_path, text)
    assert proc.returncode == 2, proc.stderr
    assert "p.conf:1:1: the file is UTF-16" in proc.stderr and "\x00" not in proc.stderr
