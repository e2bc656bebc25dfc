"""Pairs and answers found by the second adversarial sweep of the planner (issue 12) that
broke its promise: each test names the input, what the plan did, and what it must do."""

from __future__ import annotations

import base64

import pytest

from tests.helpers.conf import assert_dhcpd_and_lint_accept, needs_dhcpd, planned_pair
from wizard.errors import InputError

SUBNET = ("subnet 198.51.100.0 netmask 255.255.255.0 {\n"
          "  pool { range 198.51.100.10 198.51.100.20; }\n}\n")


# -- omapi.secret_file -----------------------------------------------------------------------

def test_a_secret_file_wrapped_as_openssl_writes_it_is_one_secret(tmp_path):
    # `openssl rand -base64 64 > omapi.secret` wraps the 88 characters at 64: the plan
    # refused the file as "does not hold a base64 secret".
    secret = base64.b64encode(bytes(range(64))).decode()
    (tmp_path / "omapi.secret").write_text(secret[:64] + "\n" + secret[64:] + "\n")
    _, plan = planned_pair(tmp_path, SUBNET,
                           omapi=f'secret_file = "{tmp_path / "omapi.secret"}"')
    assert plan.secret == secret
    assert plan.secret_origin.startswith("read from")
    assert f"secret {secret};" in plan.main("secondary").after
    assert_dhcpd_and_lint_accept(plan)


# -- definitions the copies need, read too late on the secondary -----------------------------

OPTION = "option foo code 224 = text;\n"
SPACE = "option space vs;\noption vs.x code 1 = text;\n"


def _subnet(net: str, extra: str = "", pools: str = "10 20") -> str:
    lo, hi = pools.split()
    return (f"  subnet {net}.0 netmask 255.255.255.0 {{ {extra}"
            f"pool {{ range {net}.{lo} {net}.{hi}; }} }}\n")


@pytest.mark.parametrize("definition, use", [(OPTION, 'option foo "x"; '),
                                             (SPACE, 'option vs.x "a"; ')])
def test_a_copied_subnet_landing_above_the_secondarys_definition_is_a_located_error(
        tmp_path, definition, use):
    # The subnet goes into the secondary's shared-network A, which it reads before the
    # definition: dhcpd refused the planned secondary (unknown option), and the plan called
    # it a bug in the planner.
    primary = (definition + "shared-network A {\n" + _subnet("10.0.0")
               + _subnet("10.0.1", use) + "}\n")
    secondary = "shared-network A {\n" + _subnet("10.0.0") + "}\n" + definition
    with pytest.raises(InputError) as info:
        planned_pair(tmp_path, primary, secondary)
    message = str(info.value)
    line = definition.count("\n") + 3  # the subnet that uses it
    assert message.startswith(f"{tmp_path / 'p.conf'}:{line}:")
    assert "further down" in message and f"{tmp_path / 's.conf'}:4" in message
    assert "above the declarations that use it" in info.value.hint


def test_pools_copied_into_a_subnet_above_the_secondarys_definition_are_a_located_error(
        tmp_path):
    primary = SPACE + _subnet("10.0.0").replace("pool { ", 'pool { option vs.x "a"; ')
    secondary = _subnet("10.0.0", pools="10 15") + SPACE
    with pytest.raises(InputError) as info:
        planned_pair(tmp_path, primary, secondary)
    assert "option space vs" in str(info.value) and "further down" in str(info.value)


@needs_dhcpd
def test_a_definition_the_secondary_reads_before_the_copies_land_is_enough(tmp_path):
    # Copied to the end of the secondary, or into a shared-network after the definition.
    primary = (OPTION + "shared-network A {\n" + _subnet("10.0.0")
               + _subnet("10.0.1", 'option foo "x"; ') + "}\n"
               + _subnet("10.0.2", 'option foo "y"; ').lstrip())
    secondary = OPTION + "shared-network A {\n" + _subnet("10.0.0") + "}\n"
    _, plan = planned_pair(tmp_path, primary, secondary)
    assert 'option foo "y"' in plan.main("secondary").after
    assert_dhcpd_and_lint_accept(plan)


@pytest.mark.parametrize("statement", ['supersede foo "x";', 'default foo "x";',
                                       'append foo "x";', 'prepend foo "x";'])
def test_an_option_a_copied_subnet_sets_without_the_word_option_must_be_defined(
        tmp_path, statement):
    # dhcpd reads `supersede NAME ...` (and default, append, prepend) as setting option NAME:
    # the copy without the definition was refused by dhcpd ("no option named foo") and the
    # plan called it a bug in the planner.
    primary = OPTION + _subnet("10.0.0").lstrip() + _subnet("10.0.1", statement + " ").lstrip()
    with pytest.raises(InputError) as info:
        planned_pair(tmp_path, primary, _subnet("10.0.0").lstrip())
    assert str(info.value).startswith(f"{tmp_path / 'p.conf'}:3:")
    assert "uses option foo, which only the primary defines" in str(info.value)


HOST = 'host a { hardware ethernet 00:11:22:33:44:55; group "servers"; } '


@pytest.mark.parametrize("secondary_group, says", [
    ("", "which the secondary does not declare"),
    ('shared-network A {\n' + _subnet("10.0.0") + '}\ngroup "servers" { }\n', "further down"),
])
def test_a_copied_host_that_takes_a_named_group_the_secondary_lacks_is_a_located_error(
        tmp_path, secondary_group, says):
    # dhcpd refused the planned secondary ("unknown group servers in host a"): a bug in the
    # planner, it said.
    primary = ('group "servers" { option domain-name "srv"; }\nshared-network A {\n'
               + _subnet("10.0.0") + _subnet("10.0.1", HOST) + "}\n")
    secondary = secondary_group or "shared-network A {\n" + _subnet("10.0.0") + "}\n"
    with pytest.raises(InputError) as info:
        planned_pair(tmp_path, primary, secondary)
    assert str(info.value).startswith(f"{tmp_path / 'p.conf'}:4:")
    assert 'group "servers"' in str(info.value) and says in str(info.value)


@needs_dhcpd
def test_a_copied_host_takes_a_named_group_the_secondary_declares_before_it(tmp_path):
    primary = ('group "servers" { option domain-name "srv"; }\n' + _subnet("10.0.0").lstrip()
               + _subnet("10.0.1", HOST).lstrip())
    secondary = _subnet("10.0.0").lstrip() + 'group "servers" { }\n'  # the copy lands below
    _, plan = planned_pair(tmp_path, primary, secondary)
    assert 'group "servers";' in plan.main("secondary").after
    assert_dhcpd_and_lint_accept(plan)


def _hub_peer(name: str, role: str, address: str, peer: str) -> str:
    extra = "  mclt 1800;\n  split 128;\n" if role == "primary" else ""
    return (f'failover peer "{name}" {{\n  {role};\n  address {address};\n  port 647;\n'
            f"  peer address {peer};\n  peer port 647;\n  max-response-delay 30;\n"
            f"  max-unacked-updates 10;\n{extra}  load balance max seconds 3;\n}}\n")


def _hub_subnet(net: str, peer: str) -> str:
    return (f"subnet 10.0.{net}.0 netmask 255.255.255.0 {{\n  pool {{\n"
            f'    failover peer "{peer}";\n    range 10.0.{net}.100 10.0.{net}.200;\n  }}\n}}\n')


# The primary is a hub: partner of the secondary (.12) in "fo", and of a third server (.13)
# in "other", whose pools the secondary must not get.
HUB_PRIMARY = (_hub_peer("fo", "primary", "198.51.100.11", "198.51.100.12")
               + _hub_peer("other", "primary", "198.51.100.11", "198.51.100.13")
               + _hub_subnet("0", "fo") + _hub_subnet("1", "other"))
HUB_SECONDARY = _hub_peer("fo", "secondary", "198.51.100.12", "198.51.100.11") + _hub_subnet(
    "0", "fo")


@needs_dhcpd
@pytest.mark.parametrize("pools", ["", 'pools = ["10.0.0.0/24"]'])
def test_a_relationship_with_a_third_server_is_left_to_that_pair(tmp_path, pools):
    # The plan copied the "other" subnet to the secondary (refused: the secondary does not
    # declare "other"), or with the pools chosen, its own lint check refused the output
    # (peer-name-mismatch, pools-differ): a hub in two pairs could not be planned at all.
    _, plan = planned_pair(tmp_path, HUB_PRIMARY, HUB_SECONDARY, failover=pools)
    assert_dhcpd_and_lint_accept(plan)
    secondary = plan.main("secondary").after
    assert "10.0.1.0" not in secondary and '"other"' not in secondary
    assert plan.main("primary").after.count('failover peer "other"') == 2  # as it was


def test_lint_says_which_relationship_it_leaves_to_another_pair():
    # Not silence: a relationship with a server long gone looks just the same.
    from wizard.conf.lint import lint_pair
    from wizard.conf.model import load

    found = lint_pair(load("p", text=HUB_PRIMARY), load("s", text=HUB_SECONDARY))
    assert not [f for f in found if f.severity == "error"]
    third = [f for f in found if f.id == "peer-third-server"]
    assert [(f.severity, f.location) for f in third] == [("warn", "p:13")]  # "other"
    assert "198.51.100.13" in third[0].message


def test_a_relationship_on_one_side_with_the_partner_itself_is_still_a_mismatch():
    # Only a relationship with another server is exempt: one the secondary should have too
    # (the same peer address) is still a name that does not match.
    from wizard.conf.lint import lint_pair
    from wizard.conf.model import load

    primary = HUB_PRIMARY.replace("198.51.100.13", "198.51.100.12")
    found = {(f.id, f.severity) for f in lint_pair(load("p", text=primary),
                                                   load("s", text=HUB_SECONDARY))}
    assert ("peer-name-mismatch", "error") in found and ("pools-differ", "error") in found
