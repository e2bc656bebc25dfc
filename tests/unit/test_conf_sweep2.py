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
