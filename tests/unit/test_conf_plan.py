import os
import re
import stat

import pytest

from tests.helpers.conf import (DHCPD_REJECTS, answers, corpus_params, needs_dhcpd,
                                planned_pair, read)
from wizard.conf.lint import lint_pair
from wizard.conf.loader import MemoryLoader
from wizard.conf.model import load
from wizard.conf.plan import plan_pair
from wizard.conf.validate import dhcpd_errors
from wizard.errors import InputError

BASE = """\
# site config
default-lease-time 600;

subnet 10.1.0.0 netmask 255.255.255.0 {
\trange 10.1.0.10 10.1.0.50;
\toption routers 10.1.0.1;
}

subnet 10.2.0.0 netmask 255.255.255.0 {
\tpool {
\t\trange 10.2.0.10 10.2.0.50;
\t}
}
"""


def replan(tmp_path, plan, **kw):
    """Plan again from the plan's own output."""
    p, s = plan.main("primary").after, plan.main("secondary").after
    return planned_pair(tmp_path, p, s, **kw)[1]


@needs_dhcpd
@pytest.mark.parametrize("path", corpus_params())
def test_corpus_plans_are_accepted_idempotent_and_lint_clean(path, tmp_path):
    """Every file of the corpus: what dhcpd rejects stays rejected (the corpus's README says
    which, and dhcpd here agrees); a file with no `range` statement (a plain text search, not
    the model under test) is refused by the planner with a located reason; every other one
    plans into configs dhcpd accepts, that re-plan to no change and lint clean."""
    text = read(path)
    if path.name in DHCPD_REJECTS:
        assert dhcpd_errors(text, path.name) != [], f"dhcpd now accepts {path.name}"
        return
    if not re.search(r"(?m)^[^#\n]*\brange\s+\d", text):
        with pytest.raises(InputError, match="has no pool or range to put under failover"):
            planned_pair(tmp_path, text)
        return
    _, plan = planned_pair(tmp_path, text)
    for role in ("primary", "secondary"):
        assert dhcpd_errors(plan.main(role).after, f"{role}.conf") == []
    again = replan(tmp_path, plan)
    assert not again.changed, [f.diff() for f in again.files]
    findings = lint_pair(load("p", text=plan.main("primary").after),
                         load("s", text=plan.main("secondary").after))
    assert [f for f in findings if f.severity == "error"] == []


def test_new_text_follows_the_files_tab_indentation(tmp_path):
    _, plan = planned_pair(tmp_path, BASE)
    after = plan.main("primary").after
    assert '\tpool {\n\t\tfailover peer "fo";\n\t\trange 10.1.0.10 10.1.0.50;\n\t}\n' in after
    assert '\t\tfailover peer "fo";\n\t\trange 10.2.0.10' in after
    assert "failover peer \"fo\" {\n\tprimary;\n" in after
    # The peer block comes before its first user, after the global settings.
    assert after.index("default-lease-time") < after.index('failover peer "fo" {') \
        < after.index("subnet 10.1.0.0")


def test_primary_and_secondary_blocks_mirror_each_other(tmp_path):
    _, plan = planned_pair(tmp_path, BASE, failover='primary_address = "10.9.0.1"\n'
                                                   'secondary_port = 847\nhba = "' +
                           ":".join(["ff"] * 16 + ["00"] * 16) + '"\n')
    p = load("p", text=plan.main("primary").after).peers["fo"]
    s = load("s", text=plan.main("secondary").after).peers["fo"]
    assert (p.value("address"), p.value("peer address")) == ("10.9.0.1", "198.51.100.12")
    assert (s.value("address"), s.value("peer address")) == ("198.51.100.12", "10.9.0.1")
    assert (p.value("port"), p.value("peer port"), s.value("port"), s.value("peer port")) == \
        ("647", "847", "847", "647")
    assert p.value("hba").startswith("ff:") and "split" not in p.settings
    assert {"mclt", "split", "hba"}.isdisjoint(s.settings) and s.value("role") == "secondary"
    assert s.value("max-response-delay") == "60"


def test_existing_peer_block_is_updated_in_place(tmp_path):
    text = BASE.replace("default-lease-time 600;\n", (
        'default-lease-time 600;\nfailover peer "fo" {\n\tsecondary;  # wrong role\n'
        '\taddress 10.0.0.1;\n\tmax\u2010response\u2010delay 5;\n\tmclt 100;\n\tsplit 255;\n'
        '\tauto-partner-down 600;\n}\n'))
    _, plan = planned_pair(tmp_path, text)
    primary, secondary = plan.main("primary").after, plan.main("secondary").after
    assert primary.count('failover peer "fo" {') == 1 and secondary.count('failover peer "fo" {') == 1
    assert "\tprimary;  # wrong role\n" in primary  # the comment stays with its statement
    assert "\tmax-response-delay 60;\n" in primary and "\u2010" not in primary
    assert "\tsplit 128;\n" in primary and "\tauto-partner-down 600;\n" in primary
    assert "mclt" not in secondary and "split" not in secondary
    assert "\tsecondary;  # wrong role\n" in secondary


def test_peer_declared_after_its_first_use_is_moved_up(tmp_path):
    text = BASE + 'failover peer "fo" {\n\tprimary;\n}\n'
    _, plan = planned_pair(tmp_path, text)
    after = plan.main("primary").after
    assert after.count('failover peer "fo" {') == 1
    assert after.index('failover peer "fo" {') < after.index("subnet 10.1.0.0")


def test_only_chosen_subnets_join_failover(tmp_path):
    _, plan = planned_pair(tmp_path, BASE, failover='pools = ["10.2.0.0/24"]')
    after = plan.main("primary").after
    assert "\trange 10.1.0.10 10.1.0.50;\n\toption routers" in after  # untouched, not wrapped
    assert after.count('failover peer "fo";') == 1
    assert '\t\tfailover peer "fo";\n\t\trange 10.2.0.10' in after


def test_unknown_subnet_in_answers_is_bad_input(tmp_path):
    with pytest.raises(InputError, match="10.3.0.0/24"):
        planned_pair(tmp_path, BASE, failover='pools = ["10.3.0.0/24"]')


def test_config_without_ranges_is_refused(tmp_path):
    with pytest.raises(InputError, match="no pool or range"):
        planned_pair(tmp_path, "subnet 10.1.0.0 netmask 255.255.255.0 { }\n")


def test_existing_omapi_setup_is_reused_not_duplicated(tmp_path):
    text = ("omapi-port 9999;\nkey omapi_key {\n\talgorithm hmac-sha256;\n\tsecret \"c2VjcmV0\";\n};\n"
            "omapi-key omapi_key;\n" + BASE)
    _, plan = planned_pair(tmp_path, text)
    after = plan.main("primary").after
    assert after.count("omapi-port") == 1 and "omapi-port 7911;" in after
    assert after.count("key omapi_key {") == 1 and after.count("omapi-key") == 1
    # The existing key is kept as it is, algorithm included: other OMAPI users rely on it.
    assert "\talgorithm hmac-sha256;\n" in after and plan.secret == "c2VjcmV0"
    assert 'secret "c2VjcmV0";' in after  # unchanged statement keeps its own quoting
    assert any("keeps its algorithm hmac-sha256" in n and "hmac-md5" in n for n in plan.notes)


def test_secret_file_is_read_or_generated_with_mode_0600(tmp_path):
    secret_file = tmp_path / "omapi.secret"
    _, plan = planned_pair(tmp_path, BASE, omapi=f'secret_file = "{secret_file}"')
    assert secret_file.read_text().strip() == plan.secret
    assert len(__import__("base64").b64decode(plan.secret)) == 64
    assert stat.S_IMODE(os.stat(secret_file).st_mode) == 0o600
    secret_file.write_text("b3RoZXJzZWNyZXQ=\n")
    _, again = planned_pair(tmp_path, plan.main("primary").after,
                            omapi=f'secret_file = "{secret_file}"')
    assert again.secret == "b3RoZXJzZWNyZXQ=" and "secret b3RoZXJzZWNyZXQ=;" in \
        again.main("primary").after


def test_secondary_pools_are_made_to_match_the_primary(tmp_path):
    secondary = BASE.replace("10.2.0.50", "10.2.0.99").replace(
        "subnet 10.1.0.0 netmask 255.255.255.0 {\n\trange 10.1.0.10 10.1.0.50;\n", "")
    secondary = secondary.replace("\toption routers 10.1.0.1;\n}\n", "", 1)
    _, plan = planned_pair(tmp_path, BASE, secondary)
    said = [d.sentence() for d in plan.differences]
    assert any("only the primary has 10.2.0.10-10.2.0.50" in s and
               "only the secondary has 10.2.0.10-10.2.0.99" in s for s in said)
    assert any(s.startswith("subnet 10.1.0.0/24") and "primary only" in s for s in said)
    after = plan.main("secondary").after
    assert "10.2.0.99" not in after and "range 10.1.0.10 10.1.0.50;" in after
    assert not replan(tmp_path, plan).changed
    findings = lint_pair(load("p", text=plan.main("primary").after), load("s", text=after))
    assert [f.id for f in findings if f.severity == "error"] == []


def test_edits_land_in_the_included_file(tmp_path):
    inc = tmp_path / "subnets.conf"
    inc.write_text("subnet 10.5.0.0 netmask 255.255.255.0 {\n  range 10.5.0.5 10.5.0.9;\n}\n")
    main = f'default-lease-time 600;\ninclude "{inc}";\n'
    _, plan = planned_pair(tmp_path, main)
    by_path = {(f.role, f.path): f for f in plan.files}
    included = by_path[("primary", str(inc))]
    assert 'failover peer "fo";' in included.after and "failover peer" not in included.before
    top = plan.main("primary").after
    assert top.index('failover peer "fo" {') < top.index("include")
    assert inc.read_text() == included.before  # planning writes nothing


def test_plan_uses_the_loader_for_includes(tmp_path):
    loader = MemoryLoader({"/etc/dhcp/main.conf": 'include "/etc/dhcp/pools.conf";\n',
                           "/etc/dhcp/pools.conf": "subnet 10.6.0.0 netmask 255.255.255.0 "
                                                   "{ pool { range 10.6.0.2 10.6.0.3; } }\n"})
    plan = plan_pair(answers(tmp_path), "/etc/dhcp/main.conf", "/etc/dhcp/main.conf", loader)
    pools = [f for f in plan.files if f.path == "/etc/dhcp/pools.conf"]
    assert len(pools) == 2 and all('failover peer "fo";' in f.after for f in pools)


def test_a_plan_without_pool_differences_leaves_no_cycles_behind(tmp_path):
    import gc

    gc.collect()
    gc.disable()
    try:
        before = len(gc.get_objects())
        _, plan = planned_pair(tmp_path, BASE)
        del plan
        # Everything the plan built went with reference counting alone.
        assert gc.collect() == 0 or len(gc.get_objects()) - before < 50
    finally:
        gc.enable()


def test_pools_compare_by_their_ranges_whatever_the_order(tmp_path):
    from wizard.conf import pairing

    two = ("subnet 10.9.0.0 netmask 255.255.255.0 {\n  pool { range 10.9.0.10 10.9.0.20; }\n"
           "  pool { range 10.9.0.30 10.9.0.40; range 10.9.0.50 10.9.0.60; }\n}\n")
    swapped = ("subnet 10.9.0.0 netmask 255.255.255.0 {\n"
               "  pool { range 10.9.0.50 10.9.0.60; range 10.9.0.30 10.9.0.40; }\n"
               "  pool { range 10.9.0.10 10.9.0.20; }\n}\n")
    regrouped = ("subnet 10.9.0.0 netmask 255.255.255.0 {\n  pool { range 10.9.0.10 10.9.0.20;"
                 " range 10.9.0.30 10.9.0.40; }\n  pool { range 10.9.0.50 10.9.0.60; }\n}\n")
    bare = two.replace("  pool { range 10.9.0.10 10.9.0.20; }\n", "  range 10.9.0.10 10.9.0.20;\n")
    same = lambda a, b: pairing.compare(load("p", text=a), load("s", text=b), lambda h: True)
    assert same(two, two) == [] and same(two, swapped) == [] and same(swapped, two) == []
    assert [d.key for d in same(two, regrouped)] == ["subnet 10.9.0.0/24"]
    assert same(two, bare) == []  # a bare range counts as a pool of its own
    assert same(two, two.replace("10.9.0.60", "10.9.0.61"))[0].only_secondary == \
        ("10.9.0.50-10.9.0.61",)


def test_planning_leaves_the_collector_as_it_found_it(tmp_path):
    import gc

    assert gc.isenabled()
    planned_pair(tmp_path, BASE)
    assert gc.isenabled()
    gc.disable()
    try:
        planned_pair(tmp_path, BASE)
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_the_way_back_of_a_file_has_its_own_diff():
    # A revert applies the plan swapped: its diff must be made anew, not the forward one kept.
    from wizard.conf.plan import FilePlan

    ahead = FilePlan("primary", "/etc/dhcp/dhcpd.conf", "a\n", "b\n")
    assert "-a\n+b\n" in ahead.diff()
    back = ahead.swapped()
    assert (back.before, back.after, back.role, back.path) == ("b\n", "a\n", "primary",
                                                               "/etc/dhcp/dhcpd.conf")
    assert "-b\n+a\n" in back.diff()
