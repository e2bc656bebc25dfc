"""`plan --out DIR`: the deployable configs and their masked diffs, private; a DIR that cannot
be written is refused before either server is read."""

from __future__ import annotations

import os
import stat

import pytest

from tests.unit.test_conf_commands import files, plan  # noqa: F401 - the fixture
from wizard.cli import main
from wizard.record.session import MASK


def test_out_writes_the_printed_diffs_masked_and_private(files, capsys):  # noqa: F811
    assert plan(files, "--out", str(files / "out")) == 0
    printed = capsys.readouterr().out
    secret = (files / "out" / "primary.conf").read_text().split("secret ", 1)[1].split(";")[0]
    for role in ("primary", "secondary"):
        diff = files / "out" / f"{role}.diff"
        assert stat.S_IMODE(os.stat(diff).st_mode) == 0o600
        text = diff.read_text()
        assert text.startswith("--- a/") and text in printed
        assert f"secret {MASK};" in text and secret not in text


def test_out_writes_empty_diffs_when_nothing_changes(files, capsys):  # noqa: F811
    assert plan(files, "--out", str(files / "out")) == 0
    (files / "p.conf").write_bytes((files / "out" / "primary.conf").read_bytes())
    (files / "s.conf").write_bytes((files / "out" / "secondary.conf").read_bytes())
    assert plan(files, "--out", str(files / "again")) == 0
    assert (files / "again" / "primary.diff").read_text() == ""
    assert (files / "again" / "secondary.diff").read_text() == ""


def _unreachable_pair(tmp_path):
    # Port 1 on loopback refuses at once: were the servers read, the run would end in exit 1.
    (tmp_path / "k").write_text("")
    answers = tmp_path / "live.toml"
    answers.write_text("".join(
        f'[{role}]\nhost = "127.0.0.{n}"\nport = 1\nknown_hosts = "{tmp_path / "k"}"\n'
        for n, role in ((1, "primary"), (2, "secondary"))))
    return answers


def _a_file(d):
    (d / "file").write_text("")
    return d / "file"


@pytest.mark.parametrize("make_out, words", [
    (_a_file, "not a directory"),
    (lambda d: _a_file(d) / "sub", "not a directory"),
    (lambda d: d / "absent" / "deep" / "out", None),
    (lambda d: "/proc/dhcp-wizard-out", "cannot write"),
])
def test_an_unusable_out_dir_is_refused_before_any_ssh(tmp_path, capsys, make_out, words):
    out = make_out(tmp_path)
    code = main(["plan", "--answers", str(_unreachable_pair(tmp_path)), "--out", str(out),
                 "--session", str(tmp_path / "s")])
    err = capsys.readouterr().err
    if words is None:   # a directory that can be made: the run goes on to SSH (and fails there)
        assert code == 1 and "refused" in err and not os.path.exists(out)
        return
    assert code == 2 and "--out" in err and words in err and str(out) in err
    assert "refused" not in err and "Traceback" not in err and "internal error" not in err
