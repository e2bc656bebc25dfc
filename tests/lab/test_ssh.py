"""SSH layer: ~/.ssh/config resolution (pure) and, against the real lab, host-key refusal,
trust, auth, passphrases, ProxyJump, unreachable hosts.

Against the real lab; the pure part is in tests/unit/."""

from __future__ import annotations

import shutil
import subprocess
import time

import pytest

from wizard.remote import ssh
from wizard.remote.ssh_config import (HostKeyChanged, UnknownHostKey, load_ssh_config, resolve,
                               trust_host_key)


def _target(lab_answers, role="primary", **changes):
    host = lab_answers.host(role)
    fields = {"user": host.user, "port": host.port, "identity": host.identity,
              "known_hosts": host.known_hosts, **changes}
    return resolve(host.host, ssh_config=load_ssh_config(_nowhere()), **fields)


def _nowhere():
    from pathlib import Path

    return Path("/nonexistent/ssh_config")


def test_runs_commands_keeping_exit_code_streams_and_duration(lab_answers):
    conn = ssh.connect("primary", _target(lab_answers))
    try:
        res = conn.run("echo out; echo err >&2; exit 3")
        assert (res.exit_code, res.stdout, res.stderr) == (3, "out\n", "err\n")
        assert 0 < res.duration < 5
        res = conn.run("sleep 5", timeout=0.5)
        assert res.timed_out and res.exit_code is None
        # The connection survives a timed-out command and is reused.
        assert conn.run("cat", stdin="piped").stdout == "piped"
    finally:
        conn.close()


def test_unknown_host_key_is_refused_with_fingerprint_and_nothing_written(lab_answers, lab_spec,
                                                                          tmp_path):
    kh = tmp_path / "known_hosts"
    target = _target(lab_answers, known_hosts=str(kh))
    with pytest.raises(UnknownHostKey) as info:
        ssh.connect("primary", target)
    pub = lab_spec.host_dir("primary") / "etc-ssh" / "ssh_host_ed25519_key.pub"
    expected = subprocess.run(["ssh-keygen", "-lf", str(pub)], capture_output=True,
                              text=True).stdout.split()[1]
    err = info.value
    assert err.fingerprint == expected and expected in err.message
    assert err.key_type == "ssh-ed25519" and err.known_hosts == str(kh)
    assert not kh.exists()
    # After the user accepted the fingerprint, the same key connects.
    trust_host_key(err)
    ssh.connect("primary", target).close()


def test_changed_host_key_is_refused_and_not_trustable(lab_answers, tmp_path):
    # The secondary's key filed under the primary's address: what an impostor looks like.
    secondary_key = open(lab_answers.secondary.known_hosts).read().splitlines()[1].split()[1:]
    kh = tmp_path / "known_hosts"
    kh.write_text(f"{lab_answers.primary.host} {' '.join(secondary_key)}\n")
    before = kh.read_bytes()
    with pytest.raises(HostKeyChanged) as info:
        ssh.connect("primary", _target(lab_answers, known_hosts=str(kh)))
    assert "CHANGED" in info.value.message and "ssh-keygen -R" in info.value.hint
    with pytest.raises(ssh.OperationFailed):
        trust_host_key(info.value)
    assert kh.read_bytes() == before


def test_wrong_key_is_an_auth_failure_with_a_fix(lab_answers, tmp_path):
    key = tmp_path / "other"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    with pytest.raises(ssh.AuthFailed) as info:
        ssh.connect("primary", _target(lab_answers, identity=str(key)))
    assert str(key) in info.value.message and "authorized_keys" in info.value.hint


def test_encrypted_key_asks_the_callback_for_its_passphrase(lab_answers, tmp_path):
    key = tmp_path / "enc"
    shutil.copy(lab_answers.primary.identity, key)
    key.chmod(0o600)
    subprocess.run(["ssh-keygen", "-q", "-p", "-N", "s3cret-pass", "-f", str(key)], check=True)
    asked = []
    conn = ssh.connect("primary", _target(lab_answers, identity=str(key)),
                       passphrase=lambda path: asked.append(path) or "s3cret-pass")
    conn.close()
    assert asked == [f"passphrase for key {key}"]
    with pytest.raises(ssh.AuthFailed) as info:
        ssh.connect("primary", _target(lab_answers, identity=str(key)), passphrase=lambda p: None)
    assert "needs a passphrase" in info.value.message


def test_password_login_is_asked_only_where_offered_and_never_recorded(lab_answers, lab_spec,
                                                                       tmp_path):
    from wizard.record.session import Session

    password = lab_spec.password_path.read_text().strip()
    wrong_key = tmp_path / "wrong"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(wrong_key)],
                   check=True)
    as_user = _target(lab_answers, user="dhwlab", identity=str(wrong_key))
    asked = []
    session = Session.create(tmp_path / "s", command="test")
    conn = ssh.connect("primary", as_user, session=session,
                       passphrase=lambda what: asked.append(what) or password)
    whoami = conn.run("id -un").stdout.strip()
    conn.close()
    session.close()
    assert whoami == "dhwlab"
    assert asked == [f"password for dhwlab@{lab_spec.address('primary')}"]
    recorded = b"".join(f.read_bytes() for f in (tmp_path / "s").rglob("*") if f.is_file())
    assert password.encode() not in recorded
    with pytest.raises(ssh.AuthFailed) as info:
        ssh.connect("primary", as_user, passphrase=lambda what: "not-the-password")
    assert "password (refused)" in info.value.message
    # root logs in by key only here: the server offers no password, so none is asked for.
    asked.clear()
    with pytest.raises(ssh.AuthFailed):
        ssh.connect("primary", _target(lab_answers, identity=str(wrong_key)),
                    passphrase=lambda what: asked.append(what) or password)
    assert asked == []


def test_proxyjump_through_the_primary_reaches_the_secondary(lab_answers, tmp_path):
    p, s = lab_answers.primary, lab_answers.secondary
    cfg = tmp_path / "config"
    cfg.write_text(f"Host jump\n  HostName {p.host}\n  User root\n  IdentityFile {p.identity}\n"
                   f"Host sec\n  HostName {s.host}\n  User root\n  ProxyJump jump\n")
    target = resolve("sec", identity=s.identity, known_hosts=s.known_hosts,
                     ssh_config=load_ssh_config(cfg))
    conn = ssh.connect("secondary", target)
    try:
        # The secondary sees the connection coming from the primary, not from this host.
        res = conn.run("echo $SSH_CONNECTION")
        assert res.stdout.split()[0] == p.host and res.stdout.split()[2] == s.host
    finally:
        conn.close()


def test_unreachable_host_fails_fast_and_the_other_is_still_connected(lab_answers, lab_spec):
    unused = str(lab_spec.network.network_address + 13)
    answers = lab_answers.with_changes("secondary", host=unused)
    start = time.monotonic()
    pair = ssh.Pair(answers, timeout=2).open()
    try:
        assert time.monotonic() - start < 5
        assert isinstance(pair.errors["secondary"], ssh.ConnectFailed)
        assert pair.conn("primary").run("true").ok
    finally:
        pair.close()
