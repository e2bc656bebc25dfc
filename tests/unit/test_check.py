"""`dhcp-wizard check` end to end, as a separate process against the real lab.

The pure part: recorded outputs and inputs, no lab."""

from __future__ import annotations

from tests.conftest import run_cli


REQUIRED = {"ssh", "dhcpd-version", "version-parity", "clock-skew", "port-failover",
            "port-omapi", "config-lint", "failover-state"}


def test_bad_answers_file_is_exit_2(tmp_path):
    bad = tmp_path / "a.toml"
    bad.write_text('[primary]\nhost = "x"\n')
    proc = run_cli("check", "--answers", str(bad))
    assert proc.returncode == 2 and "secondary" in proc.stderr
