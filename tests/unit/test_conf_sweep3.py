"""Pairs found by the third sweep of the planner (issue 12), made from configs as found in the
wild (distribution examples, homelab and conference-network configs): each test names the
layout, what the plan did with it, and what it must do."""

from __future__ import annotations

import pytest

from tests.helpers.conf import assert_dhcpd_and_lint_accept, needs_dhcpd, planned_pair
from wizard.errors import InputError

# -- a class declared inside the subnet whose pools name it ----------------------------------

def _classes_in_subnet(last: int, class_first: bool = True) -> str:
    # The layout of a university's config: the classes are declared in the subnet itself,
    # above the pools that admit their members.
    classes = ('  class "staff" { match pick-first-value (option dhcp-client-identifier, '
               'hardware); }\n')
    pools = ("  pool {\n    range 10.0.0.10 10.0.0.20;\n    allow members of \"staff\";\n  }\n"
             f"  pool {{\n    range 10.0.0.30 10.0.0.{last};\n  }}\n")
    body = classes + pools if class_first else pools.replace(
        '    allow members of "staff";\n', "") + classes
    return "subnet 10.0.0.0 netmask 255.255.255.0 {\n" + body + "}\n"


@needs_dhcpd
def test_pools_copied_under_a_class_the_subnet_itself_declares_above_them(tmp_path):
    # The secondary differs in one range: the pools are copied in place of its own, below its
    # class. The plan refused: "names class staff, which the secondary declares only further
    # down (s.conf:2)", the class being under the same top-level statement as the copies.
    _, plan = planned_pair(tmp_path, _classes_in_subnet(40), _classes_in_subnet(39))
    assert 'allow members of "staff"' in plan.main("secondary").after
    assert_dhcpd_and_lint_accept(plan)


def test_a_class_the_secondarys_subnet_declares_below_its_pools_is_still_refused(tmp_path):
    # The copies take the place of the secondary's first pool, above its class: dhcpd would
    # refuse the secondary (no such class).
    with pytest.raises(InputError) as info:
        planned_pair(tmp_path, _classes_in_subnet(40), _classes_in_subnet(39, class_first=False))
    assert "further down" in str(info.value)
    assert str(info.value).startswith(f"{tmp_path / 'p.conf'}:5:")


# -- pools already in a relationship that the other server lacks -----------------------------

FO_PRIMARY = ('failover peer "dhcp-failover" {\n  primary;\n  address 172.16.1.10;\n'
              '  peer address 172.16.1.11;\n  mclt 3600;\n  split 128;\n}\n')
FO_SECONDARY = ('failover peer "dhcp-failover" {\n  secondary;\n  address 172.16.1.11;\n'
                '  peer address 172.16.1.10;\n}\n')


def _subnet(net: str, peer: str | None = None) -> str:
    ref = f'failover peer "{peer}"; ' if peer else ""
    return (f"subnet {net}.0 netmask 255.255.255.0 {{\n"
            f"  pool {{ {ref}range {net}.100 {net}.150; }}\n}}\n")


def _plan(tmp_path, primary: str, secondary: str, hosts: tuple[str, str], name: str):
    from wizard.answers import load_answers
    from wizard.conf.plan import plan_pair

    (tmp_path / "p.conf").write_text(primary)
    (tmp_path / "s.conf").write_text(secondary)
    (tmp_path / "a.toml").write_text(f'[primary]\nhost = "{hosts[0]}"\n[secondary]\n'
                                     f'host = "{hosts[1]}"\n[failover]\nname = "{name}"\n')
    return plan_pair(load_answers(tmp_path / "a.toml"), str(tmp_path / "p.conf"),
                     str(tmp_path / "s.conf"))


# The answers' hosts are not the relationship's peer addresses (SSH reaches the servers on
# other addresses): it then looks like one with a third server, and takes every pool.
OTHER_HOSTS = ("198.51.100.11", "198.51.100.12")


@pytest.mark.parametrize("primary, secondary, refused", [
    (FO_PRIMARY + _subnet("172.16.1", "dhcp-failover"), _subnet("172.16.1"), "p.conf:9:"),
    (_subnet("172.16.1"), FO_SECONDARY + _subnet("172.16.1", "dhcp-failover"), "s.conf:7:")],
    ids=["on-the-primary", "on-the-secondary"])
def test_every_pool_in_a_relationship_the_other_server_lacks_is_refused_before_planning(
        tmp_path, primary, secondary, refused):
    # A server set up by hand with failover, its partner still without it: the plan gave the
    # other server's pools "fo" and refused with lint findings, one on a line it had written
    # itself ("s.conf (line 8 as planned)"), telling the operator to fix the input configs.
    with pytest.raises(InputError) as info:
        _plan(tmp_path, primary, secondary, OTHER_HOSTS, "fo")
    message = str(info.value)
    assert message.startswith(f"{tmp_path / refused}")  # the pool's reference
    assert 'failover peer "dhcp-failover" (with 172.16.1.1' in message
    assert "as planned" not in message
    assert '`name = "dhcp-failover"` under [failover]' in info.value.hint


@needs_dhcpd
@pytest.mark.parametrize("primary, secondary", [
    (FO_PRIMARY + _subnet("172.16.1", "dhcp-failover"), _subnet("172.16.1")),
    (_subnet("172.16.1"), FO_SECONDARY + _subnet("172.16.1", "dhcp-failover"))],
    ids=["on-the-primary", "on-the-secondary"])
def test_that_relationship_named_in_the_answers_is_planned_on_both_servers(
        tmp_path, primary, secondary):
    plan = _plan(tmp_path, primary, secondary, ("172.16.1.10", "172.16.1.11"), "dhcp-failover")
    for role in ("primary", "secondary"):
        assert 'failover peer "dhcp-failover";' in plan.main(role).after
    assert_dhcpd_and_lint_accept(plan)


def test_the_secondarys_copy_of_a_third_server_pool_stays_out_of_the_planned_one(tmp_path):
    # The primary is a hub: 10.0.1.0/24 is served with another server (10.9.9.9). The
    # secondary's own pool there joined "fo", so the two peers' "fo" pools differed (dhcpd:
    # `bind update ... rejected` at runtime), which lint, leaving that pair out, did not see.
    other = FO_PRIMARY.replace("dhcp-failover", "other").replace("172.16.1.11", "10.9.9.9")
    _, plan = planned_pair(tmp_path, other + _subnet("10.0.1", "other") + _subnet("10.0.2"),
                           _subnet("10.0.1") + _subnet("10.0.2"))
    secondary = plan.main("secondary").after
    assert "pool { range 10.0.1.100 10.0.1.150; }" in secondary
    assert 'pool { failover peer "fo"; range 10.0.2.100 10.0.2.150; }' in secondary


# -- pools in a file the subnet includes -------------------------------------------------------

def test_pools_the_secondarys_subnet_includes_are_replaced_in_that_file(tmp_path):
    # `subnet X { include "pools.conf"; }`, the secondary's range one address short: the
    # copy was added to the subnet and the included pool left beside it, and the plan
    # refused with lint findings on its own lines (range-overlap, "line 24 as planned").
    for side, last in (("p", 50), ("s", 49)):
        (tmp_path / f"{side}-pools.conf").write_text(
            f"pool {{\n  range 10.1.0.10 10.1.0.{last};\n}}\n")
    def main(side: str) -> str:
        return ("subnet 10.1.0.0 netmask 255.255.255.0 {\n  option routers 10.1.0.1;\n"
                f'  include "{tmp_path}/{side}-pools.conf";\n}}\n')
    _, plan = planned_pair(tmp_path, main("p"), main("s"))
    included = next(f for f in plan.files if f.path.endswith("s-pools.conf"))
    assert "range 10.1.0.10 10.1.0.50;" in included.after
    assert "10.1.0.49" not in included.after
    assert "range" not in plan.main("secondary").after  # nothing added beside the include
