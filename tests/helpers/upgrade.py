"""What the upgrade tests share: a pair deployed with an hour of MCLT, and readings of it."""

from __future__ import annotations

import json
import re

from tests.conftest import run_cli
from tests.helpers.apply import fresh
from tests.helpers.lab import sh, ssh
from wizard.answers import load_answers


def production_pair(lab_spec, tmp_path_factory):
    """A fresh pair deployed with mclt 3600 (max-response-delay stays short, so the drill's
    fresh-contact wait stays short: what is measured here is MCLT). A generator, for a
    module-scoped fixture of each test file (a file's tests share one worker's lab)."""
    fresh(lab_spec)
    text = lab_spec.answers_path.read_text()
    assert "mclt = 30\n" in text
    path = tmp_path_factory.mktemp("upgrade") / "production.toml"
    path.write_text(text.replace("mclt = 30\n", "mclt = 3600\n"))
    proc = run_cli("deploy", "--answers", str(path), "--yes", "--accept", "ntp", "--no-drill",
                   timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr
    yield path
    fresh(lab_spec)


def version(spec, role: str) -> str:
    client = ssh(spec, role)
    try:
        return sh(client, "/usr/sbin/dhcpd --version 2>&1")[1].strip()
    finally:
        client.close()


def states(path) -> dict[str, str]:
    from wizard.ops.omapi import read_states

    a = load_answers(path)
    secret = open(a.omapi.secret_file).read().strip()
    eps = {r: (a.host(r).host, a.omapi.port) for r in ("primary", "secondary")}
    got = read_states(eps, a.omapi.key_name, secret, a.failover.name, timeout=3)
    return {r: s.state.local_state if s.state else "unreachable" for r, s in got.items()}


def session_events(stdout: str) -> list[dict]:
    where = re.search(r"session recorded in (\S+)", stdout).group(1)
    with open(f"{where}/events.jsonl") as fh:
        return [json.loads(line) for line in fh]
