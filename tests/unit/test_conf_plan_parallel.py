"""plan_pair(parallel=True): the secondary planned in a forked child gives exactly the plan the
one-process path gives, whatever the child does (delivers, dies, or is never started)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.helpers.conf import answers, plan_values
from wizard.conf import plan as plan_mod
from wizard.conf.plan import plan_pair
from wizard.errors import InputError

BUILDINGS = 600  # above the size from which the secondary is planned in a child
KEY = "py51RI1ZImsLm2PVd1U5Vvs8IzXrAYXHsz8OqZrN//yC8WNRrroTzMJTIBVOjYu77QueT4Y82miiR8Nln9oEAQ=="


def campus(buildings: int, *, key: bool = True, last_range: str = "150") -> str:
    out = ["# a campus", "authoritative;", ""]
    if key:  # a secret both runs reuse, so that the two plans can be compared byte for byte
        out += ["key omapi_key {", "  algorithm hmac-md5;", f"  secret {KEY};", "}", ""]
    for i in range(buildings):
        out += [f"# building {i}", f'shared-network "b{i}" {{']
        for v in range(2):
            net = f"10.{i // 128}.{(i % 128) * 2 + v}"
            end = last_range if i == buildings - 1 and v == 1 else "150"
            out += [f"  subnet {net}.0 netmask 255.255.255.0 {{", f"    option routers {net}.1;",
                    "    pool {", f"      range {net}.10 {net}.{end};", "    }",
                    f"    host h{i}v{v} {{ hardware ethernet 02:00:00:00:{i % 256:02x}:{v:02x};"
                    f" fixed-address {net}.200; }}", "  }"]
        out += ["}", ""]
    return "\n".join(out) + "\n"


@pytest.fixture
def pair(tmp_path: Path):
    def write(primary: str, secondary: str | None = None) -> tuple[str, str]:
        (tmp_path / "p.conf").write_text(primary)
        (tmp_path / "s.conf").write_text(primary if secondary is None else secondary)
        return str(tmp_path / "p.conf"), str(tmp_path / "s.conf")
    return write


@pytest.fixture
def children(monkeypatch):
    """Each child started: [its pid, whether this process had to do its work instead]."""
    seen: list[list] = []
    real_start = plan_mod.forked.start

    def start(work, *, fallback=None, **kw):
        entry = [0, False]

        def instead():
            entry[1] = True
            return fallback()
        pending = real_start(work, fallback=instead, **kw)
        entry[0] = pending._pid
        seen.append(entry)
        return pending

    monkeypatch.setattr(plan_mod.forked, "start", start)
    return seen


def both_ways(ans, primary: str, secondary: str) -> tuple[tuple, tuple]:
    return (plan_values(plan_pair(ans, primary, secondary, parallel=True)),
            plan_values(plan_pair(ans, primary, secondary)))


def test_the_config_is_large_enough_for_the_child():
    assert len(campus(BUILDINGS)) > plan_mod._FORK_ABOVE


@pytest.mark.parametrize("shape", ["one file for both", "a copy", "pools that differ",
                                   "no key yet", "a copy, some subnets chosen"])
def test_the_child_plans_the_secondary_as_this_process_would(tmp_path, pair, children, shape):
    text = campus(BUILDINGS, key=shape != "no key yet")
    if shape == "one file for both":
        p = s = pair(text)[0]
    elif shape == "pools that differ":   # the secondary is matched to the primary, then read again
        p, s = pair(text, campus(BUILDINGS, last_range="120"))
    else:
        p, s = pair(text)
    chosen = 'pools = ["10.0.0.0/24", "10.1.3.0/24"]' if "chosen" in shape else ""
    ans = answers(tmp_path, failover=chosen)
    parallel, serial = both_ways(ans, p, s)
    assert parallel == serial
    assert len(children) == 1 and children[0][0] > 0 and not children[0][1]  # the child's work
    files, notes, differences = parallel[:3]
    assert files[1][0] == "secondary" and "failover peer" in files[1][3]
    if shape == "pools that differ":
        assert differences and any("gets the primary's pools" in n for n in notes)
    if chosen:  # only the chosen subnets' pools, on both sides
        for after in (files[0][3], files[1][3]):
            assert after.count('failover peer "') == 1 + 2


@pytest.mark.parametrize("same_file", [True, False])
def test_a_child_that_dies_leaves_the_secondary_to_this_process(tmp_path, pair, monkeypatch,
                                                                 children, same_file):
    # One file for both: this process's model served as the secondary's in the child and
    # is the primary's by now, so the secondary must be read again here.
    p, s = pair(campus(BUILDINGS))
    if same_file:
        s = p
    ans = answers(tmp_path)
    serial = plan_values(plan_pair(ans, p, s))
    parent, real = os.getpid(), plan_mod._file_plan

    def dying(role, *rest):
        if os.getpid() != parent:
            os._exit(7)
        return real(role, *rest)

    monkeypatch.setattr(plan_mod, "_file_plan", dying)
    assert plan_values(plan_pair(ans, p, s, parallel=True)) == serial
    assert len(children) == 1 and children[0][0] > 0 and children[0][1]  # done here instead


def test_an_error_in_the_primary_stops_the_child_and_says_the_error(tmp_path, pair, monkeypatch,
                                                                    children):
    p, s = pair(campus(BUILDINGS))
    parent = os.getpid()

    def failing(config, spec, *rest):
        if os.getpid() == parent and spec.role == "primary":
            raise InputError("the primary's own problem", "fix it")
        return real_apply(config, spec, *rest)

    real_apply = plan_mod.failover.apply
    monkeypatch.setattr(plan_mod.failover, "apply", failing)
    with pytest.raises(InputError, match="the primary's own problem"):
        plan_pair(answers(tmp_path), p, s, parallel=True)
    assert len(children) == 1 and children[0][0] > 0
    with pytest.raises(ChildProcessError):   # killed and reaped: no child left behind
        os.waitpid(children[0][0], os.WNOHANG)


def test_small_configs_are_planned_in_one_process(tmp_path, pair, monkeypatch):
    p, s = pair(campus(3))
    monkeypatch.setattr(plan_mod.forked, "start", lambda *a, **k: pytest.fail("forked"))
    plan_pair(answers(tmp_path), p, s, parallel=True)


@pytest.mark.parametrize("same_file", [True, False])
def test_a_plan_that_lets_its_models_go_before_the_diffs_is_the_same_plan(tmp_path, pair,
                                                                          monkeypatch, children,
                                                                          same_file):
    # What a config of hundreds of thousands of lines does (memory before time), here forced.
    p, s = pair(campus(BUILDINGS))
    if same_file:
        s = p
    ans = answers(tmp_path)
    serial = plan_values(plan_pair(ans, p, s))
    monkeypatch.setattr(plan_mod, "_FREE_ABOVE", 0)
    assert plan_values(plan_pair(ans, p, s, parallel=True)) == serial
    assert len(children) == 1 and children[0][0] > 0 and not children[0][1]
