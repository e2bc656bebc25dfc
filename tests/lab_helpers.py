"""Small helpers for tests that talk to the real lab hosts."""

from __future__ import annotations

import paramiko


def ssh(spec, role: str, known_hosts=None) -> paramiko.SSHClient:
    """A paramiko client with strict host-key checking against the lab's known_hosts."""
    client = paramiko.SSHClient()
    client.load_host_keys(str(known_hosts or spec.known_hosts_path))
    client.set_missing_host_key_policy(paramiko.RejectPolicy())
    client.connect(spec.address(role), username="root", key_filename=str(spec.key_path),
                   look_for_keys=False, allow_agent=False, timeout=5, banner_timeout=5,
                   auth_timeout=5)
    return client


def sh(client: paramiko.SSHClient, command: str, timeout: float = 20) -> tuple[int, str, str]:
    _stdin, stdout, stderr = client.exec_command(command, timeout=timeout)
    out, err = stdout.read().decode(), stderr.read().decode()
    return stdout.channel.recv_exit_status(), out, err
