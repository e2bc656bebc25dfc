"""Pairs that dhcpd accepts once made the plan write a config it rejects (issue 12, class 1)
or lay new text out against the file's own style (class 7); each is its smallest input."""

from __future__ import annotations

import pytest

from tests.helpers.conf import assert_dhcpd_and_lint_accept, planned_pair
from wizard.errors import InputError

POOL = "subnet 10.1.0.0 netmask 255.255.255.0 {\n  pool {\n    range 10.1.0.10 10.1.0.50;\n  }\n}\n"
PEER = ('failover peer "{name}" {{\n  primary;\n  address 10.0.0.1;\n  peer address 10.0.0.2;\n'
        '  mclt 3600;\n  split 128;\n}}\n')


def test_a_copied_subnet_whose_pool_names_another_peer_is_refused_where_it_says_so(tmp_path):
    # "other" is a relationship with the secondary itself (its address): one with a third
    # server would be left to that pair (test_conf_sweep2).
    other = PEER.format(name="other").replace("10.0.0.2", "198.51.100.12")
    primary = (other + POOL + "subnet 10.2.0.0 netmask 255.255.255.0 {\n"
               '  pool {\n    failover peer "other";\n    range 10.2.0.10 10.2.0.50;\n  }\n}\n')
    with pytest.raises(InputError) as err:
        planned_pair(tmp_path, primary, POOL)
    message = str(err.value)
    # At the relationship the secondary lacks (test_conf_gaps has the whole sentence).
    assert message.startswith(f"{tmp_path / 'p.conf'}:1:15:") and '"other"' in message
    assert "secondary does not declare" in message


def test_a_pool_before_the_shared_network_that_declares_the_peer_gets_it_declared_first(tmp_path):
    primary = (POOL + "shared-network campus {\n" + "".join(
        "  " + line + "\n" for line in PEER.format(name="fo").splitlines()) +
        "  subnet 10.2.0.0 netmask 255.255.255.0 {\n    pool {\n"
        '      failover peer "fo";\n      range 10.2.0.10 10.2.0.50;\n    }\n  }\n}\n')
    _, plan = planned_pair(tmp_path, primary)
    after = plan.main("primary").after
    assert after.index('failover peer "fo" {') < after.index("subnet 10.1.0.0")
    assert '\nfailover peer "fo" {\n  primary;\n' in after  # moved out, at the top's indent
    assert_dhcpd_and_lint_accept(plan)


@pytest.mark.parametrize("secondary", [
    "# secondary, managed by hand\n# nothing here yet",      # no final newline
    "# secondary, managed by hand\n# nothing here yet\n",
    "  # indented header\n\n",
    "",
])
def test_a_comment_only_secondary_keeps_its_comments_first_and_gets_valid_statements(
        tmp_path, secondary):
    _, plan = planned_pair(tmp_path, POOL, secondary)
    after = plan.main("secondary").after
    assert after.startswith(secondary.rstrip("\n"))
    body = after[len(secondary.rstrip("\n")):]
    assert body.startswith("\n") or not secondary
    assert "\nsubnet 10.1.0.0 netmask 255.255.255.0 {\n  pool {\n" in "\n" + body
    assert_dhcpd_and_lint_accept(plan)


def test_a_range_directly_in_a_shared_network_is_refused_as_dhcpd_does(tmp_path):
    primary = ("shared-network campus {\n  subnet 10.2.0.0 netmask 255.255.255.0 {\n  }\n"
               "  range 10.2.0.10 10.2.0.50;\n}\n")
    with pytest.raises(InputError, match=r"p.conf:4:3: `range` directly inside a shared-network"):
        planned_pair(tmp_path, primary)


# -- layout ----------------------------------------------------------------------------------

def test_a_pool_written_on_one_line_without_spaces_stays_on_one_line(tmp_path):
    text = "subnet 10.1.0.0 netmask 255.255.255.0 {\n  pool{range 10.1.0.10 10.1.0.50;}\n}\n"
    _, plan = planned_pair(tmp_path, text)
    assert '  pool{failover peer "fo"; range 10.1.0.10 10.1.0.50;}\n' in plan.main("primary").after
    assert_dhcpd_and_lint_accept(plan)


def test_pools_copied_to_a_tab_indented_secondary_take_tabs_and_keep_its_comment(tmp_path):
    secondary = ("subnet 10.1.0.0 netmask 255.255.255.0 {\n\t# the office\n\tpool {\n"
                 "\t\trange 10.1.0.10 10.1.0.40;\n\t}\n}\n")
    _, plan = planned_pair(tmp_path, POOL, secondary)
    after = plan.main("secondary").after
    assert ("subnet 10.1.0.0 netmask 255.255.255.0 {\n\t# the office\n\tpool {\n"
            '\t\tfailover peer "fo";\n\t\trange 10.1.0.10 10.1.0.50;\n\t}\n}\n') in after
    changed = [line for line in plan.main("secondary").diff().splitlines()
               if line[:1] in "+-" and "10.1.0." in line]
    assert changed == ["-\t\trange 10.1.0.10 10.1.0.40;", "+\t\trange 10.1.0.10 10.1.0.50;"]
    assert_dhcpd_and_lint_accept(plan)


def test_a_subnet_copied_into_a_shared_network_is_indented_there_and_before_its_pools(tmp_path):
    def shared(subnets: str) -> str:
        return ("shared-network campus {\n" + subnets +
                "  pool {\n    range 10.2.0.10 10.2.0.50;\n  }\n}\n")
    one = "  subnet 10.2.0.0 netmask 255.255.255.0 {\n  }\n"
    two = one + "  subnet 10.3.0.0 netmask 255.255.255.0 {\n    pool {\n" \
        "      range 10.3.0.10 10.3.0.20;\n    }\n  }\n"
    _, plan = planned_pair(tmp_path, shared(two), shared(one))
    after = plan.main("secondary").after
    assert ("  subnet 10.3.0.0 netmask 255.255.255.0 {\n    pool {\n"
            '      failover peer "fo";\n      range 10.3.0.10 10.3.0.20;\n    }\n  }\n  pool {'
            ) in after
    assert_dhcpd_and_lint_accept(plan)


def test_new_lines_in_a_crlf_file_end_in_crlf(tmp_path):
    _, plan = planned_pair(tmp_path, POOL.replace("\n", "\r\n"))
    after = plan.main("primary").after
    assert after.count("\n") == after.count("\r\n") and 'failover peer "fo";\r\n' in after


@pytest.mark.parametrize("pool, expected", [
    ('  pool {\n    allow unknown-clients;\n    range 10.1.0.10 10.1.0.50;\n  }\n',
     '  pool {\n    failover peer "fo";\n    allow unknown-clients;\n    range 10.1.0.10'),
    ('  pool {\n    # guests\n    allow unknown-clients;\n    range 10.1.0.10 10.1.0.50;\n  }\n',
     '  pool {\n    failover peer "fo";\n    # guests\n    allow unknown-clients;\n'),
    ('  pool {\n\n    allow unknown-clients;\n    range 10.1.0.10 10.1.0.50;\n  }\n',
     '  pool {\n\n    failover peer "fo";\n    allow unknown-clients;\n'),  # as insert_before
    ('  pool { allow unknown-clients; range 10.1.0.10 10.1.0.50; }\n',
     '  pool { failover peer "fo"; allow unknown-clients; range 10.1.0.10'),
])
def test_the_peer_reference_goes_first_in_a_pool_that_starts_with_other_statements(
        tmp_path, pool, expected):
    text = "subnet 10.1.0.0 netmask 255.255.255.0 {\n" + pool + "}\n"
    _, plan = planned_pair(tmp_path, text)
    assert expected in plan.main("primary").after
    assert_dhcpd_and_lint_accept(plan)
