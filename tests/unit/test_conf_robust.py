"""Inputs that once crashed the engine or leaked through its errors (issue 12, classes 2
and 3): each is the smallest config that showed it."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.helpers.conf import answers
from tests.conftest import REPO
from wizard.conf.loader import decode
from wizard.conf.model import load
from wizard.errors import INTERNAL_ERROR_EXIT, InputError

POOL = (b"subnet 10.1.0.0 netmask 255.255.255.0 {\n  pool {\n    range 10.1.0.10 10.1.0.50;\n"
        b"  }\n}\n")
SECRET = "c2VjcmV0c2VjcmV0c2VjcmV0"


def _cli(tmp_path, command: str, primary: bytes, secondary: bytes | None = None):
    (tmp_path / "p.conf").write_bytes(primary)
    (tmp_path / "s.conf").write_bytes(primary if secondary is None else secondary)
    if command == "lint":
        return run_cli("lint", str(tmp_path / "p.conf"), str(tmp_path / "s.conf"))
    answers(tmp_path)
    return run_cli("plan", "--answers", str(tmp_path / "answers.toml"), "--from",
                   str(tmp_path / "p.conf"), str(tmp_path / "s.conf"),
                   "--session", str(tmp_path / "session"))


def run_cli(*argv: str):
    """As tests.conftest.run_cli, but the streams may carry a config's non-UTF-8 bytes."""
    return subprocess.run([sys.executable, "-m", "wizard", *argv], capture_output=True,
                          text=True, errors="surrogateescape", timeout=120, cwd=REPO)


def _no_crash(proc) -> None:
    assert "Traceback" not in proc.stderr and "internal error" not in proc.stderr, proc.stderr


# -- secrets and width -----------------------------------------------------------------------

@pytest.mark.parametrize("key", [
    f"key k {{\n  algorithm hmac-md5;\n  secret {SECRET} }}\n",         # ';' missing
    f'key k {{\n  algorithm hmac-md5;\n  secret\n    "{SECRET}" }}\n',  # value on its own line
    f'key k {{\n  secret "{SECRET};\n}}\n',                              # string never closed
])
@pytest.mark.parametrize("command", ["plan", "lint"])
def test_a_syntax_error_in_a_key_block_never_quotes_the_secret(tmp_path, key, command):
    proc = _cli(tmp_path, command, key.encode() + POOL)
    assert proc.returncode == 2, proc.stderr
    _no_crash(proc)
    assert "p.conf:" in proc.stderr
    assert SECRET not in proc.stderr + proc.stdout
    assert SECRET[:12] not in proc.stderr  # not even a part of it


def test_the_line_shown_with_an_error_is_cut_to_a_window_around_the_caret():
    text = 'option domain-name "' + "x" * 100_000 + '" }\n'
    with pytest.raises(InputError) as err:
        load("c.conf", text=text)
    message = str(err.value)
    assert len(message) < 1000
    shown, caret = message.splitlines()[1:3]
    assert shown.startswith("  …") and shown[caret.index("^") - 1:] == '" }'  # right after it


def test_control_bytes_are_drawn_visibly_in_an_error():
    text = "subnet 10.1.0.0 netmask 255.255.255.0 {\n  range 10.1.0.10 10.1.\0.50;\n}\n"
    with pytest.raises(InputError) as err:
        load("c.conf", text=text)
    assert "\0" not in str(err.value) and "\u2400" in str(err.value)


# -- crashes ---------------------------------------------------------------------------------

@pytest.mark.parametrize("command", ["plan", "lint"])
@pytest.mark.parametrize("bad", [b"10.1.0.1\xe9", b"10.1.\x00.50", b"10.1.0.\xff\xfe"])
def test_a_bad_byte_inside_an_address_is_bad_input(tmp_path, command, bad):
    proc = _cli(tmp_path, command, POOL.replace(b"10.1.0.50", bad))
    _no_crash(proc)
    assert proc.returncode == 2 and "p.conf:3:" in proc.stderr
    assert "is not an IPv4 address" in proc.stderr


@pytest.mark.parametrize("command", ["plan", "lint"])
def test_nul_bytes_in_a_comment_and_in_an_include_path_are_no_crash(tmp_path, command):
    proc = _cli(tmp_path, command, b"# a\0b\n" + POOL)
    _no_crash(proc)
    assert proc.returncode in (0, 1)
    proc = _cli(tmp_path, command, b'include "/etc/dh\0cp.conf";\n' + POOL)
    _no_crash(proc)
    assert proc.returncode == 2 and "NUL" in proc.stderr


def test_a_latin1_comment_is_stored_in_the_session_as_it_was_read(tmp_path):
    raw = POOL.replace(b"  pool {", b"  # caf\xe9\n  pool {")
    proc = _cli(tmp_path, "plan", raw)
    _no_crash(proc)
    assert proc.returncode == 0, proc.stderr
    before = tmp_path / "session" / "artifacts" / "plan1-primary.before.conf"
    assert before.read_bytes() == raw


@pytest.mark.parametrize("depth", [1000, 5000])
def test_deeply_nested_groups_are_read_planned_and_written(tmp_path, depth):
    inner = b"host h { fixed-address 10.1.0.5; }\n"
    raw = POOL + b"group {\n" * depth + inner + b"}\n" * depth
    config = load("c.conf", text=decode(raw))
    assert len(config.groups) == depth and [h for h, _ in config.hosts] == ["h"]
    proc = _cli(tmp_path, "plan", raw)
    _no_crash(proc)
    assert proc.returncode == 0, proc.stderr


def test_an_internal_error_says_it_is_a_bug_and_does_not_exit_as_a_failed_check(
        tmp_path, monkeypatch, capsys):
    from wizard import cli
    from wizard.commands import lint

    def broken(*_):
        raise RuntimeError(f"secret {SECRET}")

    monkeypatch.setattr(lint, "lint_pair", broken)
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # the crash file lands here
    (tmp_path / "p.conf").write_bytes(POOL)
    code = cli.main(["lint", str(tmp_path / "p.conf"), str(tmp_path / "p.conf")])
    err = capsys.readouterr().err
    assert code == INTERNAL_ERROR_EXIT and code not in (0, 1, 2)
    assert "bug" in err and "dhcp-wizard-crash-" in err and SECRET not in err
    crash = err.split("the details are in ", 1)[1].split(";", 1)[0]
    assert crash.startswith(str(tmp_path))
    details = open(crash).read()
    # The traceback is there for the bug report, the secret its message quoted is not.
    assert "RuntimeError" in details and "broken" in details and SECRET not in details
