"""SSH layer: ~/.ssh/config resolution (pure) and, against the real lab, host-key refusal,
trust, auth, passphrases, ProxyJump, unreachable hosts.

The pure part: recorded outputs and inputs, no lab."""

from __future__ import annotations

from wizard.remote import ssh
from wizard.remote.ssh_config import load_ssh_config, resolve


def _config(tmp_path, text):
    path = tmp_path / "config"
    path.write_text(text)
    return load_ssh_config(path)


def test_alias_resolves_hostname_user_port_identity_and_jump(tmp_path):
    cfg = _config(tmp_path, """
Host dhcp1
    HostName 10.0.0.5
    User admin
    Port 2222
    IdentityFile ~/.ssh/dhcp_key
    ProxyJump ops@bastion:2200
Host bastion
    HostName 10.9.9.9
    IdentityFile /keys/bastion
""")
    t = resolve("dhcp1", ssh_config=cfg)
    assert (t.hostname, t.user, t.port) == ("10.0.0.5", "admin", 2222)
    assert t.identities[0].endswith("/.ssh/dhcp_key") and not t.identities[0].startswith("~")
    assert not t.default_identities
    assert t.known_hosts_name == "[10.0.0.5]:2222"
    [jump] = t.jumps
    assert (jump.hostname, jump.user, jump.port, jump.identities) == (
        "10.9.9.9", "ops", 2200, ("/keys/bastion",))


def test_answers_override_ssh_config(tmp_path):
    cfg = _config(tmp_path, "Host dhcp1\n  HostName 10.0.0.5\n  User admin\n  Port 2222\n")
    t = resolve("dhcp1", user="root", port=22, identity="/k", known_hosts="/kh", ssh_config=cfg)
    assert (t.user, t.port, t.identities, t.known_hosts) == ("root", 22, ("/k",), "/kh")
    assert t.known_hosts_name == "10.0.0.5"


def test_plain_address_uses_openssh_defaults(tmp_path):
    t = resolve("198.51.100.7", ssh_config=_config(tmp_path, ""))
    assert t.hostname == "198.51.100.7" and t.port == 22 and t.default_identities
    assert t.known_hosts.endswith("/.ssh/known_hosts")


def test_sudo_refusal_is_recognised():
    res = ssh.CommandResult("sudo -n -- sh -c id", 1, "", "sudo: a password is required\n", 0.01)
    assert ssh.sudo_refused(res)
    assert not ssh.sudo_refused(ssh.CommandResult("x", 1, "", "cat: x: No such file\n", 0.01))


class _UnansweredExec:
    """What paramiko's Channel does with an exec request the server never answers (packets
    dropped, the connection still open): exec_command waits for the answer with no timeout,
    and only close() ends the wait, with "Channel closed."."""

    def __init__(self, answer: bool = False):
        import threading

        self.closed = False
        self.event = threading.Event()
        if answer:
            self.event.set()

    def exec_command(self, command: str) -> None:
        import paramiko

        self.event.wait()
        if self.closed:
            raise paramiko.SSHException("Channel closed.")

    def close(self) -> None:
        self.closed = True
        self.event.set()


def test_an_exec_request_the_server_never_answers_times_out():
    # A link cut at that instant held an upgrade's restart poll for good (CI: 300 s).
    import socket
    import time

    import pytest

    chan = _UnansweredExec()
    start = time.monotonic()
    with pytest.raises(socket.timeout):
        ssh._exec(chan, "true", 0.3)
    assert time.monotonic() - start < 5 and chan.closed


def test_an_answered_exec_request_leaves_the_channel_open():
    import time

    chan = _UnansweredExec(answer=True)
    ssh._exec(chan, "true", 0.2)
    time.sleep(0.4)  # past the deadline: the watchdog was stood down
    assert not chan.closed
