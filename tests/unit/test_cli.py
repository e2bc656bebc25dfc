"""The command-line contract of cli.md, as a user meets it."""

from __future__ import annotations

import pytest

from tests.conftest import run_cli
from wizard import __version__
from wizard.cli import build_parser

CONTRACT = ["lab", "check", "plan", "lint", "deploy", "drill", "report", "verify"]


def test_version():
    proc = run_cli("--version")
    assert proc.returncode == 0 and proc.stdout.strip() == f"dhcp-wizard {__version__}"


def test_every_contract_command_is_present():
    sub = next(a for a in build_parser()._actions if a.dest == "command")
    assert set(CONTRACT) <= set(sub.choices)
    lab = sub.choices["lab"]
    lab_sub = next(a for a in lab._actions if a.dest == "lab_command")
    assert {"up", "down", "status", "lease"} <= set(lab_sub.choices)


def test_unknown_flag_is_exit_2():
    proc = run_cli("lint", "a", "b", "--frobnicate")
    assert proc.returncode == 2 and "--frobnicate" in proc.stderr


@pytest.mark.parametrize("argv", [["report", "/nonexistent"], ["verify", "/nonexistent"]])
def test_session_commands_refuse_a_directory_that_is_no_session(argv):
    proc = run_cli(*argv)
    assert proc.returncode == 2
    assert "not a session directory" in proc.stderr and "Traceback" not in proc.stderr


def test_layering_core_never_imports_textual():
    """wizard/ is the UI-free core: importing all of it must not pull in textual or rich."""
    import subprocess
    import sys

    code = (
        "import pkgutil, importlib, sys, wizard\n"
        "for m in pkgutil.walk_packages(wizard.__path__, 'wizard.'):\n"
        "    if m.name not in ('wizard.commands.tui', 'wizard.__main__'):\n"
        "        importlib.import_module(m.name)\n"
        "bad = [n for n in sys.modules if n.split('.')[0] in ('textual', 'rich')]\n"
        "print(bad)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


@pytest.mark.parametrize("argv, usage", [
    (["check", "--bogus"], "usage: dhcp-wizard check"),
    (["plan", "--answers", "a.toml", "--bogus"], "usage: dhcp-wizard plan"),
    (["lab", "up", "--bogus"], "usage: dhcp-wizard lab up"),
    (["lint", "a", "b", "--frobnicate"], "usage: dhcp-wizard lint"),
])
def test_an_unknown_option_of_a_subcommand_prints_that_subcommands_usage(argv, usage):
    proc = run_cli(*argv)
    assert proc.returncode == 2
    assert proc.stderr.startswith(usage)
    assert argv[-1] in proc.stderr and f"{usage.split(': ', 1)[1]} --help" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_an_unknown_top_level_option_prints_the_top_level_usage():
    proc = run_cli("--bogus")
    assert proc.returncode == 2 and proc.stderr.startswith("usage: dhcp-wizard [-h]")


@pytest.mark.parametrize("argv", [
    ["plan", "--answers", "a.toml", "--from", "p.conf", "s.conf", "--out", "o"],
    ["--answers", "a.toml", "--session", "S", "check", "--answers", "a.toml", "--json"],
    ["--session=S", "lint", "p.conf", "s.conf"],
    ["lab", "up", "--name", "x", "--subnet", "203.0.113.0/24", "--topology", "routed"],
    ["lab", "probe", "--every", "0.5", "--for", "10"],
    ["deploy", "--answers", "a.toml", "--yes", "--accept", "ntp,clock-skew", "--settle", "0"],
    ["drill", "--answers", "a.toml", "--roles", "primary,secondary"],
    ["upgrade", "--answers", "a.toml", "--command", "true", "--resume", "primary"],
    ["protect", "tunnel", "--answers", "a.toml", "--remove"],
    ["protect", "firewall", "--answers", "a.toml", "--confirm-timeout", "30"],
    ["report", "S"], ["verify", "S"],
])
def test_the_parser_of_the_named_command_alone_reads_argv_as_the_whole_one(argv):
    from wizard.cli import _named_command

    command = _named_command(argv)
    assert command == next(w for w in argv if not w.startswith("-") and w not in
                           ("a.toml", "S"))
    assert build_parser(command).parse_args(argv) == build_parser().parse_args(argv)


@pytest.mark.parametrize("argv", [[], ["--help"], ["--ans", "a.toml", "plan"], ["plann"],
                                  ["--answers", "plan"], ["-h", "plan"]])
def test_anything_but_a_plainly_named_command_gets_the_whole_parser(argv):
    from wizard.cli import _named_command

    assert _named_command(argv) is None


def test_an_abbreviated_global_option_still_reaches_its_command():
    proc = run_cli("--sess", "/nonexistent", "plan", "--answers", "/nonexistent.toml", "--from",
                   "/a", "/b")
    assert proc.returncode == 2 and "invalid choice" not in proc.stderr
    assert "nonexistent.toml" in proc.stderr
