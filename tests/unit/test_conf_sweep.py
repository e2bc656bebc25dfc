"""Pairs found by an adversarial sweep of the planner (issue 12) that broke its promise: each
test names the input, what the plan did, and what it must do instead."""

from __future__ import annotations

import pytest

from tests.conftest import run_cli
from tests.helpers.conf import (ANSWERS, assert_dhcpd_and_lint_accept, needs_dhcpd,
                                planned_pair)
from wizard.conf.validate import dhcpd_errors
from wizard.errors import InputError


def _plan_cli(tmp_path, primary: str, secondary: str, failover: str = ""):
    (tmp_path / "p.conf").write_text(primary)
    (tmp_path / "s.conf").write_text(secondary)
    (tmp_path / "answers.toml").write_text(ANSWERS.format(failover=failover, omapi=""))
    return run_cli("plan", "--answers", str(tmp_path / "answers.toml"), "--from",
                   str(tmp_path / "p.conf"), str(tmp_path / "s.conf"), "--out",
                   str(tmp_path / "out"), "--session", str(tmp_path / "session"))


SUBNET = ("subnet 198.51.100.0 netmask 255.255.255.0 {\n"
          "  pool { range 198.51.100.10 198.51.100.20; }\n}\n")


# -- failover addresses from the answers -------------------------------------------------

@needs_dhcpd
@pytest.mark.parametrize("failover, key, says", [
    # Written into the peer block as it was: the `;` ended `address` and made `mclt 5` a
    # statement of its own (dhcpd took it; the plan then "removed a repeat" on the next run).
    ('primary_address = "198.51.100.11; mclt 5"', "failover.primary_address",
     "not an IPv4 address"),
    # dhcpd -t refused the planned block ("semicolon expected") and the plan called it a bug
    # in the planner.
    ('secondary_address = "2001:db8::12"', "failover.secondary_address", "IPv6"),
    ('primary_address = "198.51.100"', "failover.primary_address", "not an IPv4 address"),
])
def test_a_failover_address_dhcpd_cannot_read_is_refused_naming_the_key(
        tmp_path, failover, key, says):
    proc = _plan_cli(tmp_path, SUBNET, SUBNET, failover)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert key in proc.stderr and says in proc.stderr, proc.stderr
    assert "bug" not in proc.stderr and not (tmp_path / "out").exists()


def _v6_answers(failover: str) -> str:
    return ANSWERS.format(failover=failover, omapi="").replace(
        'host = "198.51.100.11"', 'host = "2001:db8::11"')


@needs_dhcpd
def test_an_ipv6_ssh_host_without_a_failover_address_is_refused_with_the_key_to_set(tmp_path):
    # host is where SSH goes; with no failover.primary_address it is also written as the
    # failover address, which dhcpd cannot read: the plan called the rejection a bug.
    (tmp_path / "p.conf").write_text(SUBNET)
    answers = tmp_path / "answers.toml"
    argv = ["plan", "--answers", str(answers), "--from", str(tmp_path / "p.conf"),
            str(tmp_path / "p.conf"), "--session", str(tmp_path / "session")]
    answers.write_text(_v6_answers(""))
    proc = run_cli(*argv)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "primary.host" in proc.stderr and "failover.primary_address" in proc.stderr
    assert "bug" not in proc.stderr
    answers.write_text(_v6_answers('primary_address = "198.51.100.11"'))
    proc = run_cli(*argv)
    assert proc.returncode == 0, proc.stderr
    assert "address 198.51.100.11;" in proc.stdout


# -- shared-networks copied to the secondary ---------------------------------------------

LAN = ('shared-network "lan" {\n'
       "  subnet 198.51.100.0 netmask 255.255.255.0 {\n    option routers 198.51.100.1;\n  }\n"
       "  subnet 203.0.113.0 netmask 255.255.255.0 {\n"
       "    pool { range 203.0.113.10 203.0.113.20; }\n  }\n}\n")


@needs_dhcpd
@pytest.mark.parametrize("secondary", [
    "subnet 198.51.100.0 netmask 255.255.255.0 {\n  option routers 198.51.100.1;\n}\n",
    ('shared-network "office" {\n'
     "  subnet 198.51.100.0 netmask 255.255.255.0 {\n    option routers 198.51.100.1;\n  }\n}\n"),
])
def test_a_shared_network_copied_whole_never_declares_a_subnet_twice(tmp_path, secondary):
    # The secondary lacks shared-network "lan" (one of whose subnets has pools): the plan
    # copied it whole, beside the secondary's own declaration of 198.51.100.0/24 at the top
    # or in a shared-network named otherwise. dhcpd only warns ("subnet 198.51.100.0/24
    # overlaps"), so the plan passed its checks with the subnet declared twice.
    assert dhcpd_errors(LAN) == [] and dhcpd_errors(secondary) == []
    with pytest.raises(InputError) as err:
        planned_pair(tmp_path, LAN, secondary)
    message = str(err.value)
    assert message.startswith(f"{tmp_path / 's.conf'}:")
    assert "198.51.100.0/24" in message and '"lan"' in message and "twice" in message
    assert '"lan"' in err.value.hint
    # With the subnet in a shared-network "lan" on the secondary too, the plan copies the
    # missing subnet into it.
    _, plan = planned_pair(tmp_path, LAN, secondary.replace('"office"', '"lan"')
                           if "office" in secondary else
                           'shared-network "lan" {\n' + secondary + "}\n")
    assert plan.main("secondary").after.count("subnet 198.51.100.0 ") == 1
    assert_dhcpd_and_lint_accept(plan)


@needs_dhcpd
def test_pools_of_a_shared_network_bring_the_subnet_their_ranges_lie_in(tmp_path):
    # The pools sit at shared-network level; their range lies in 203.0.113.0/24, which has
    # no pool of its own and which the secondary lacks. Only the pools were copied, so the
    # secondary's range was on no subnet (dhcpd: address range not on network) and the plan
    # was refused by its own lint check, with lines of the planned file to "fix".
    primary = ('shared-network "lan" {\n'
               "  subnet 198.51.100.0 netmask 255.255.255.0 { }\n"
               "  subnet 203.0.113.0 netmask 255.255.255.0 {\n"
               "    option routers 203.0.113.1;\n  }\n"
               "  pool { range 203.0.113.10 203.0.113.20; }\n}\n")
    secondary = ('shared-network "lan" {\n'
                 "  subnet 198.51.100.0 netmask 255.255.255.0 { }\n"
                 "  pool { range 198.51.100.10 198.51.100.20; }\n}\n")
    assert dhcpd_errors(primary) == [] and dhcpd_errors(secondary) == []
    _, plan = planned_pair(tmp_path, primary, secondary)
    after = plan.main("secondary").after
    assert after.index("subnet 203.0.113.0 ") < after.index("range 203.0.113.10")
    assert "option routers 203.0.113.1;" in after and "198.51.100.10" not in after
    assert any("203.0.113.0/24" in note and "copied" in note for note in plan.notes)
    assert_dhcpd_and_lint_accept(plan)
    _, again = planned_pair(tmp_path, plan.main("primary").after, after)
    assert not again.changed


# -- ranges written high to low ------------------------------------------------------------

@needs_dhcpd
def test_a_range_written_high_to_low_is_planned_as_the_addresses_dhcpd_reads(tmp_path):
    # dhcpd reads `range HIGH LOW;` as LOW-HIGH on purpose (mdb.c: "allow range to be
    # specified high-to-low"). Lint called it an error, so the plan refused a config dhcpd
    # accepts; and against the secondary's `range LOW HIGH;` the pools "differed".
    backwards = SUBNET.replace("198.51.100.10 198.51.100.20", "198.51.100.20 198.51.100.10")
    assert dhcpd_errors(backwards) == []
    _, plan = planned_pair(tmp_path, backwards, SUBNET)
    assert plan.differences == []
    assert "range 198.51.100.20 198.51.100.10;" in plan.main("primary").after
    assert_dhcpd_and_lint_accept(plan)
    _, again = planned_pair(tmp_path, plan.main("primary").after, plan.main("secondary").after)
    assert not again.changed


# -- keys that sign DDNS updates too -----------------------------------------------------

P_SECRET = "c2VjcmV0LW9uZS1mb3ItdGhlLXN3ZWVwLXRlc3Q="
S_SECRET = "dHdvLXNlY3JldHMtZm9yLXRoZS1zd2VlcC10ZXN0cw=="


def _keyed(secret: str, zone: str = "") -> str:
    return (f"key omapi_key {{ algorithm hmac-md5; secret {secret}; }}\n"
            f"omapi-port 7911;\nomapi-key omapi_key;\n{zone}{SUBNET}")


def test_replacing_a_key_that_also_signs_ddns_updates_says_which_zones_lose_it(tmp_path):
    # The secondary's OMAPI key also signs its DDNS updates: the plan gave it the primary's
    # secret and told only "OMAPI users" to switch, so dynamic DNS on the secondary stopped
    # with nothing in the plan pointing at the zone.
    zone = 'zone "example.org." {\n  primary 127.0.0.1;\n  key omapi_key;\n}\n'
    _, plan = planned_pair(tmp_path, _keyed(P_SECRET), _keyed(S_SECRET, zone))
    [note] = [n for n in plan.notes if n.startswith("secondary: OMAPI key")]
    assert f"zone example.org. ({tmp_path / 's.conf'}:4)" in note and "DNS server" in note
    assert plan.secret == P_SECRET
    _, plan = planned_pair(tmp_path, _keyed(P_SECRET), _keyed(S_SECRET))
    [note] = [n for n in plan.notes if n.startswith("secondary: OMAPI key")]
    assert "zone" not in note


# -- secrets: where they are, and what they are -------------------------------------------

def test_the_words_after_secret_in_a_comment_are_not_taken_for_a_secret(tmp_path):
    # `# rotate the secret omapi_key yearly`: the word after `secret` was registered as a
    # secret, so every `omapi_key` of the plan's output (and of the session's record) came
    # out as ***REDACTED***: `omapi-key ***REDACTED***;`, a diff that says something else.
    text = "# rotate the secret omapi_key yearly\n" + SUBNET
    proc = _plan_cli(tmp_path, text, text)
    assert proc.returncode == 0, proc.stderr
    assert "# rotate the secret omapi_key yearly" in proc.stdout
    assert "+omapi-key omapi_key;" in proc.stdout and "+key omapi_key {" in proc.stdout
    recorded = "".join(p.read_text() for p in (tmp_path / "session").rglob("*.conf"))
    assert "omapi-key omapi_key;" in recorded


WRAPPED = ("key omapi_key {\n  algorithm hmac-md5;\n"
           "  secret c2VjcmV0LW9uZS1mb3ItdGhl\n         LXN3ZWVwLXRlc3Q=;\n}\n"
           "omapi-port 7911;\nomapi-key omapi_key;\n")


@needs_dhcpd
def test_a_secret_wrapped_over_two_lines_is_the_whole_secret(tmp_path):
    # dhcpd reads the base64 of `secret` from every token up to the `;`. The model took the
    # first piece only: the secondary got a key of that piece (another key: OMAPI to it
    # failed), lint compared the pieces and passed, and the second piece went unmasked.
    assert dhcpd_errors(WRAPPED + SUBNET) == []
    proc = _plan_cli(tmp_path, WRAPPED + SUBNET, SUBNET)
    assert proc.returncode == 0, proc.stderr
    whole = "c2VjcmV0LW9uZS1mb3ItdGhlLXN3ZWVwLXRlc3Q="
    assert f"secret {whole};" in (tmp_path / "out" / "secondary.conf").read_text()
    recorded = [p.read_text() for p in (tmp_path / "session").rglob("*") if p.is_file()]
    for piece in (whole, "c2VjcmV0LW9uZS1mb3ItdGhl", "LXN3ZWVwLXRlc3Q="):
        assert all(piece not in text for text in (proc.stdout, proc.stderr, *recorded))
    # A secondary holding only the first piece has another key, and lint says so.
    planned = (tmp_path / "out" / "secondary.conf").read_text()
    (tmp_path / "first-piece.conf").write_text(planned.replace(whole, "c2VjcmV0LW9uZS1mb3ItdGhl"))
    for secondary, differs in (("out/secondary.conf", False), ("first-piece.conf", True)):
        proc = run_cli("lint", str(tmp_path / "out" / "primary.conf"), str(tmp_path / secondary))
        assert ("omapi-key-differs" in proc.stdout) == differs, proc.stdout
    # The key is the primary's own, as it was: its wrapped lines stay as written.
    assert WRAPPED in (tmp_path / "out" / "primary.conf").read_text()


# -- includes inside blocks the model does not enter ---------------------------------------

@needs_dhcpd
@pytest.mark.parametrize("where", ["pool", "class"])
def test_a_file_included_inside_a_pool_or_class_is_part_of_the_written_tree(tmp_path, where):
    # `pool { include "pool-options.conf"; range ...; }`: the model never read the file, so
    # `--out` wrote the include as it was, relative, without the file; the tree held together
    # only where the working directory happened to hold it (the plan's own check ran there).
    import subprocess

    from tests.helpers.conf import DHCPD

    (tmp_path / "pool-options.conf").write_text('option domain-name "pool.example.org";\n')
    if where == "pool":
        text = ("subnet 198.51.100.0 netmask 255.255.255.0 {\n  pool {\n"
                '    include "pool-options.conf";\n    range 198.51.100.10 198.51.100.20;\n'
                "  }\n}\n")
    else:
        text = ('class "phones" {\n  match if option vendor-class-identifier = "x";\n'
                '  include "pool-options.conf";\n}\n' + SUBNET)
    proc = _plan_cli(tmp_path, text, text)
    assert proc.returncode == 0, proc.stderr
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    for role in ("primary", "secondary"):
        written = tmp_path / "out" / f"{role}.conf"
        check = subprocess.run([DHCPD, "-4", "-t", "-cf", str(written)], cwd=elsewhere,
                               capture_output=True, text=True)
        assert check.returncode == 0, check.stderr[-1500:]
        [copy] = (tmp_path / "out" / f"{role}-includes").rglob("pool-options.conf")
        assert f'include "{copy.resolve()}";' in written.read_text()


# -- option definitions that differ between the peers --------------------------------------

@needs_dhcpd
def test_a_copied_option_the_secondary_defines_with_another_type_is_a_located_error(tmp_path):
    # Both define `voip` (code 150), the primary as an address, the secondary as text: the
    # copied `option voip 203.0.113.5;` was refused by the secondary's dhcpd ("expecting
    # string") and the plan called that a bug in the planner.
    subnet_b = ("subnet 203.0.113.0 netmask 255.255.255.0 {\n  option voip 203.0.113.5;\n"
                "  pool { range 203.0.113.10 203.0.113.20; }\n}\n")
    primary = "option voip code 150 = ip-address;\n" + SUBNET + subnet_b
    secondary = "option voip code 150 = text;\n" + SUBNET
    assert dhcpd_errors(primary) == [] and dhcpd_errors(secondary) == []
    proc = _plan_cli(tmp_path, primary, secondary)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "p.conf:6:3:" in proc.stderr and "bug" not in proc.stderr
    assert "`code 150 = ip-address`" in proc.stderr and "`code 150 = text`" in proc.stderr
    assert "s.conf:1" in proc.stderr
    # Written otherwise but defined alike, the copy goes through.
    _, plan = planned_pair(tmp_path, primary, "OPTION VOIP CODE 150 = IP-ADDRESS;\n" + SUBNET)
    assert_dhcpd_and_lint_accept(plan)


@needs_dhcpd
@pytest.mark.parametrize("included", [False, True])
def test_dhcpd_quoting_the_tail_of_a_bad_secret_is_masked(tmp_path, included):
    # Two secrets pasted into one: dhcpd refuses it with "stuff after base64 '=' terminator:
    # TAIL", TAIL being the second secret nearly whole. The plan passed the message on as it
    # was, to stderr (a secret in an included file was not even known to the masking).
    tail = "bGVha2VkLXRhaWwtb2YtdGhlLXNlY3JldA"
    key = f"key omapi_key {{ algorithm hmac-md5; secret YWJjZGVmZ2g={tail}==; }}\n"
    if included:
        (tmp_path / "keys.conf").write_text(key)
        key = f'include "{tmp_path / "keys.conf"}";\n'
    text = key + "omapi-port 7911;\nomapi-key omapi_key;\n" + SUBNET
    proc = _plan_cli(tmp_path, text, text)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "terminator: ***REDACTED***" in proc.stderr, proc.stderr
    recorded = [p.read_text() for p in (tmp_path / "session").rglob("*") if p.is_file()]
    assert all(tail not in text for text in (proc.stdout, proc.stderr, *recorded))


# -- addresses written apart in the peer block ----------------------------------------------

@needs_dhcpd
def test_a_peer_address_written_with_spaces_around_its_dots_is_read_as_dhcpd_reads_it(tmp_path):
    # dhcpd reads `peer address 198 . 51 . 100 . 12;` as the address; lint called it "not a
    # failover peer statement" (an error), so the plan refused a pair dhcpd accepts.
    def block(role: str, spaced: bool) -> str:
        me, other = ("11", "12") if role == "primary" else ("12", "11")
        peer = f"198 . 51 . 100 . {other}" if spaced else f"198.51.100.{other}"
        balance = "  mclt 3600;\n  split 128;\n" if role == "primary" else ""
        return (f'failover peer "fo" {{\n  {role};\n  address 198.51.100.{me};\n  port 647;\n'
                f"  peer address {peer};\n  peer port 647;\n  max-response-delay 60;\n"
                f"  max-unacked-updates 10;\n{balance}  load balance max seconds 3;\n}}\n")
    pool = ('subnet 198.51.100.0 netmask 255.255.255.0 {\n'
            '  pool { failover peer "fo"; range 198.51.100.10 198.51.100.20; }\n}\n')
    primary, secondary = block("primary", True) + pool, block("secondary", False) + pool
    assert dhcpd_errors(primary) == []
    _, plan = planned_pair(tmp_path, primary, secondary)
    # Already what the answers ask for, written apart: left as it is.
    assert "peer address 198 . 51 . 100 . 12;" in plan.main("primary").after
    assert_dhcpd_and_lint_accept(plan)


@needs_dhcpd
def test_a_refused_include_is_shown_as_the_user_wrote_it_not_as_the_scratch_copy(tmp_path):
    # dhcpd's "bad.conf: bad parse" points at the include line; the plan showed that line
    # from its scratch tree: `include "/tmp/dhcp-wizard-check-.../primary-includes/...";`.
    (tmp_path / "bad.conf").write_text("ping-check maybe;\n")
    text = f'include "{tmp_path / "bad.conf"}";\n' + SUBNET
    proc = _plan_cli(tmp_path, text, text)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert f'  include "{tmp_path / "bad.conf"}";' in proc.stderr, proc.stderr
    assert "dhcp-wizard-check-" not in proc.stderr


def test_a_subnet_in_failover_on_the_secondary_only_is_refused_where_its_pool_says_so(tmp_path):
    # The plan said "left out of failover" for a subnet only the secondary declares, though
    # its pool already named the peer; its own lint check then refused the output, telling
    # the user that `dhcp-wizard plan` copies the primary's pools (there are none to copy).
    only = ("subnet 203.0.113.0 netmask 255.255.255.0 {\n"
            '  pool {\n    failover peer "fo";\n    range 203.0.113.10 203.0.113.20;\n  }\n}\n')
    with pytest.raises(InputError) as err:
        planned_pair(tmp_path, SUBNET, SUBNET + only)
    message = str(err.value)
    assert message.startswith(f"{tmp_path / 's.conf'}:6:19: ")
    assert "subnet 203.0.113.0/24" in message and '"fo"' in message
    assert "primary" in err.value.hint
    # Without the reference it is left out of failover, as the plan says.
    _, plan = planned_pair(tmp_path, SUBNET, SUBNET + only.replace('    failover peer "fo";\n', ""))
    assert any("203.0.113.0/24" in n and "left out of failover" in n for n in plan.notes)


@pytest.mark.parametrize("algorithm, warned", [
    ("hmac-md5", False), ("HMAC-MD5.", False), ("hmac-md5.sig-alg.reg.int", False),
    ("HMAC-MD5.SIG-ALG.REG.INT.", False), ("hmac-sha256", True)])
def test_lint_knows_md5_by_its_long_name_as_the_plan_does(algorithm, warned):
    # dhcpd reads hmac-md5.sig-alg.reg.int as hmac-md5, and so does the plan (it keeps the
    # key as it is); lint warned that the wizard's client cannot use such a key.
    from wizard.conf.lint import lint_pair
    from wizard.conf.model import load

    text = (f"key omapi_key {{ algorithm {algorithm}; secret {P_SECRET}; }}\n"
            "omapi-port 7911;\nomapi-key omapi_key;\n" + SUBNET)
    findings = lint_pair(load("p.conf", text=text), load("s.conf", text=text))
    assert any(f.id == "omapi-algorithm" for f in findings) == warned


def test_an_included_file_named_in_latin1_is_planned_and_recorded(tmp_path):
    # `include "r\xe9seau.conf";` (a file named on a Latin-1 system): dhcpd reads it; the
    # plan crashed writing the session's record (the name is a lone surrogate once read),
    # an internal error with a traceback file.
    import os
    import subprocess
    import sys

    from tests.conftest import REPO

    (tmp_path / os.fsdecode(b"r\xe9seau.conf")).write_text(SUBNET)
    for name in ("p.conf", "s.conf"):
        (tmp_path / name).write_bytes(b'include "r\xe9seau.conf";\n')
    (tmp_path / "answers.toml").write_text(ANSWERS.format(failover="", omapi=""))
    # Bytes: the diff on stdout carries the name's byte as it was read.
    proc = subprocess.run([sys.executable, "-m", "wizard", "plan", "--answers",
                           str(tmp_path / "answers.toml"), "--from", str(tmp_path / "p.conf"),
                           str(tmp_path / "s.conf"), "--out", str(tmp_path / "out"),
                           "--session", str(tmp_path / "session")], capture_output=True,
                          timeout=120, cwd=REPO)
    assert proc.returncode == 0, proc.stderr
    assert b"internal error" not in proc.stderr and b'r\xe9seau.conf' in proc.stdout
    [copy] = (tmp_path / "out" / "primary-includes").rglob("*seau.conf")
    assert os.fsencode(copy.name) == b"r\xe9seau.conf"
    proc = run_cli("verify", str(tmp_path / "session"))
    assert proc.returncode == 0, proc.stdout + proc.stderr
