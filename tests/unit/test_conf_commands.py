import json
import os
import stat

import pytest

from tests.helpers.conf import ANSWERS, needs_dhcpd
from tests.unit.test_conf_plan import BASE
from wizard.cli import main
from wizard.conf.validate import dhcpd_errors
from wizard.record.session import MASK, read_events


@pytest.fixture
def files(tmp_path):
    (tmp_path / "p.conf").write_text(BASE)
    (tmp_path / "s.conf").write_text(BASE)
    (tmp_path / "a.toml").write_text(ANSWERS.format(failover="", omapi=""))
    return tmp_path


def plan(files, *extra):
    return main(["plan", "--answers", str(files / "a.toml"), "--from", str(files / "p.conf"),
                 str(files / "s.conf"), "--session", str(files / "session"), *extra])


def test_plan_prints_masked_diffs_and_writes_private_deployable_files(files, capsys):
    assert plan(files, "--out", str(files / "out")) == 0
    out = capsys.readouterr().out
    assert "+++ b/" in out and '+\t\tfailover peer "fo";' in out and f"secret {MASK};" in out
    written = {}
    for role in ("primary", "secondary"):
        path = files / "out" / f"{role}.conf"
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
        written[role] = path.read_text()
        assert MASK not in written[role]
    secret = written["primary"].split("secret ", 1)[1].split(";", 1)[0]
    assert len(secret) == 88 and secret not in out
    # The session holds before/after artifacts of both peers, none with the secret.
    names = {e["data"]["name"] for e in read_events(files / "session") if e["kind"] == "artifact"}
    assert names == {f"plan1-{r}.{w}.conf" for r in ("primary", "secondary") for w in ("before", "after")}
    for artifact in (files / "session" / "artifacts").iterdir():
        assert secret not in artifact.read_text()
    assert secret not in (files / "session" / "events.jsonl").read_text()


def test_replanning_deployed_output_changes_nothing(files, capsys):
    assert plan(files, "--out", str(files / "out")) == 0
    (files / "p.conf").write_bytes((files / "out" / "primary.conf").read_bytes())
    (files / "s.conf").write_bytes((files / "out" / "secondary.conf").read_bytes())
    capsys.readouterr()
    assert plan(files) == 0
    out = capsys.readouterr().out
    assert "---" not in out and "no change" in out and "reused" in out


@needs_dhcpd
def test_planned_files_pass_dhcpd_and_lint(files, capsys):
    assert plan(files, "--out", str(files / "out")) == 0
    for role in ("primary", "secondary"):
        assert dhcpd_errors((files / "out" / f"{role}.conf").read_text(), role) == []
    capsys.readouterr()
    assert main(["lint", str(files / "out" / "primary.conf"),
                 str(files / "out" / "secondary.conf"), "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == {"ok": True, "findings": []}


def test_plan_without_from_names_a_host_it_cannot_reach(files, capsys, tmp_path):
    # Port 1 on loopback refuses at once: the live path reports it plainly, exit 1.
    (tmp_path / "k").write_text("")
    answers = tmp_path / "live.toml"
    answers.write_text("".join(f'[{r}]\nhost = "127.0.0.{n}"\nport = 1\nknown_hosts = "{tmp_path / "k"}"\n'
                               for n, r in ((1, "primary"), (2, "secondary"))))
    assert main(["plan", "--answers", str(answers), "--session", str(tmp_path / "s")]) == 1
    err = capsys.readouterr().err
    assert "primary" in err and "refused" in err and "Traceback" not in err


def test_lint_reports_errors_with_exit_1(files, capsys):
    assert main(["lint", str(files / "p.conf"), str(files / "s.conf"), "--json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["ok"] is False
    assert {"peer-missing", "omapi-port-missing"} <= {f["id"] for f in report["findings"]}
    assert all(set(f) == {"id", "severity", "location", "message"} for f in report["findings"])


@pytest.mark.parametrize("command", ["lint", "plan"])
def test_broken_input_is_located_with_exit_2(files, capsys, command):
    (files / "p.conf").write_text(BASE.replace("10.1.0.50;", "10.1.0.50"))
    code = plan(files) if command == "plan" else main(["lint", str(files / "p.conf"),
                                                       str(files / "s.conf")])
    err = capsys.readouterr().err
    assert code == 2
    assert f"{files / 'p.conf'}:6:2: `range` takes one or two addresses" in err
    assert "\toption routers 10.1.0.1;" in err.expandtabs(8) or "option routers" in err
    assert "Traceback" not in err and "internal error" not in err


def test_a_pool_outside_any_network_is_a_located_error(tmp_path, capsys, files):
    conf = tmp_path / "top.conf"
    conf.write_text("pool {\n  range 198.51.100.10 198.51.100.20;\n}\n"
                    "subnet 198.51.100.0 netmask 255.255.255.0 {\n}\n")
    assert main(["plan", "--answers", str(files / "a.toml"), "--from", str(conf), str(conf),
                 "--session", str(tmp_path / "s")]) == 2
    err = capsys.readouterr().err
    assert f"{conf}:1:1: `pool` declared outside of a subnet or shared-network" in err
    assert "Traceback" not in err and "internal error" not in err


def test_one_line_pools_stay_on_one_line(tmp_path, capsys, files):
    conf = tmp_path / "one.conf"
    conf.write_text("shared-network campus {\n"
                    "  subnet 198.51.100.0 netmask 255.255.255.128 { }\n"
                    "  pool { allow unknown-clients; range 198.51.100.10 198.51.100.40; }\n}\n")
    assert main(["plan", "--answers", str(files / "a.toml"), "--from", str(conf), str(conf),
                 "--out", str(tmp_path / "out"), "--session", str(tmp_path / "s")]) == 0
    out = (tmp_path / "out" / "primary.conf").read_text()
    assert ('  pool { failover peer "fo"; allow unknown-clients; '
            'range 198.51.100.10 198.51.100.40; }\n') in out
