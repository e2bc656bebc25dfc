"""Shared helpers for the tests of wizard.conf (not fixtures: plain functions)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

CORPUS = Path(__file__).resolve().parents[2].parent / "shared" / "corpus" / "isc-examples"
DHCPD = "/usr/sbin/dhcpd"

# Files the README of the corpus says dhcpd 4.4.3-P1 itself rejects.
DHCPD_REJECTS = {
    "doc_examples_dhcpd-dhcpv6.conf", "keama_tests_configdata4.in4", "keama_tests_ifxsc4.in4",
    "keama_tests_notbx4.in4", "keama_tests_optionspace4.in4", "keama_tests_samples_simple.conf",
    "keama_tests_samples_test-a6.conf", "keama_tests_switchxsc4.in4", "keama_tests_zone4.in4",
}


def corpus_files() -> list[Path]:
    if not CORPUS.is_dir():
        return []
    return sorted(p for p in CORPUS.iterdir() if p.suffix != ".md" and p.is_file())


def corpus_params():
    files = corpus_files()
    if not files:
        return [pytest.param(None, marks=pytest.mark.skip(reason=f"corpus not found at {CORPUS}"))]
    return [pytest.param(p, id=p.name) for p in files]


def read(path: Path) -> str:
    return path.read_bytes().decode("utf-8", "surrogateescape")


needs_dhcpd = pytest.mark.skipif(not (Path(DHCPD).exists() or shutil.which("dhcpd")),
                                 reason="dhcpd (isc-dhcp-server) is not installed")


ANSWERS = """\
[primary]
host = "198.51.100.11"
[secondary]
host = "198.51.100.12"
[failover]
name = "fo"
{failover}
[omapi]
port = 7911
key_name = "omapi_key"
{omapi}
"""


def answers(tmp_path: Path, failover: str = "", omapi: str = ""):
    from wizard.answers import load_answers

    path = tmp_path / "answers.toml"
    path.write_text(ANSWERS.format(failover=failover, omapi=omapi))
    return load_answers(path)


def planned_pair(tmp_path: Path, primary: str, secondary: str | None = None, **kw):
    """(answers, plan) for two config texts written to tmp_path."""
    from wizard.conf.plan import plan_pair

    (tmp_path / "p.conf").write_text(primary)
    (tmp_path / "s.conf").write_text(primary if secondary is None else secondary)
    ans = answers(tmp_path, **kw)
    return ans, plan_pair(ans, str(tmp_path / "p.conf"), str(tmp_path / "s.conf"))


def assert_dhcpd_and_lint_accept(plan) -> None:
    """Both planned main configs pass dhcpd -t (where installed) and the pair lints clean."""
    from wizard.conf.lint import lint_pair
    from wizard.conf.model import load
    from wizard.conf.validate import dhcpd_errors, dhcpd_path

    texts = {role: plan.main(role).after for role in ("primary", "secondary")}
    if dhcpd_path() is not None:
        for role, text in texts.items():
            assert dhcpd_errors(text, f"{role}.conf") == [], text
    findings = lint_pair(load("p", text=texts["primary"]), load("s", text=texts["secondary"]))
    assert [f.render() for f in findings if f.severity == "error"] == []


def assert_replans_to_no_change(tmp_path: Path, out: Path, capsys) -> None:
    """A plan of the tree that `plan --out` wrote to out finds nothing left to change."""
    from wizard.cli import main

    capsys.readouterr()
    assert main(["plan", "--answers", str(tmp_path / "answers.toml"), "--from",
                 str(out / "primary.conf"), str(out / "secondary.conf"),
                 "--session", str(tmp_path / "again")]) == 0
    printed = capsys.readouterr().out
    assert "no change" in printed and "+++" not in printed


def plan_values(plan) -> tuple:
    """Everything a plan says, as plain values, its generated secret (if any) masked: two
    runs each generate their own."""
    files = [(f.role, f.path, f.before, f.after.replace(plan.secret, "SECRET"), f.includes,
              f.diff().replace(plan.secret, "SECRET")) for f in plan.files]
    return (files, plan.notes, [d.sentence() for d in plan.differences],
            plan.secret_origin, plan.input_secrets)


def outcome(plan, *args, **kw) -> tuple:
    """plan(*args, **kw) as values, or the error it refused with."""
    from wizard.errors import InputError

    try:
        return plan_values(plan(*args, **kw))
    except InputError as exc:
        return ("refused", str(exc), exc.hint)


def assert_parallel_plans_alike(ans, primary: str, secondary: str) -> None:
    """plan_pair with the secondary planned in a forked child (forced, whatever the size) says
    what the one-process plan says, for the pair and for the primary's file given as both."""
    from wizard.conf import plan as plan_mod

    saved = plan_mod._FORK_ABOVE
    plan_mod._FORK_ABOVE = -1
    try:
        for other in (secondary, primary):
            assert outcome(plan_mod.plan_pair, ans, primary, other, parallel=True) == \
                outcome(plan_mod.plan_pair, ans, primary, other)
    finally:
        plan_mod._FORK_ABOVE = saved
