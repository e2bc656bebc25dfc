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
