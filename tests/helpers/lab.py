"""Small helpers for tests that talk to the real lab hosts."""

from __future__ import annotations

import paramiko


def ssh(spec, role: str, known_hosts=None, user: str | None = None) -> paramiko.SSHClient:
    """A paramiko client with strict host-key checking against the lab's known_hosts, as
    the lab's login user (root, or the sudo user where root login is refused)."""
    client = paramiko.SSHClient()
    client.load_host_keys(str(known_hosts or spec.known_hosts_path))
    client.set_missing_host_key_policy(paramiko.RejectPolicy())
    client.connect(spec.address(role), username=user or spec.login_user, key_filename=str(spec.key_path),
                   look_for_keys=False, allow_agent=False, timeout=5, banner_timeout=5,
                   auth_timeout=5)
    return client


def sh(client: paramiko.SSHClient, command: str, timeout: float = 20) -> tuple[int, str, str]:
    _stdin, stdout, stderr = client.exec_command(command, timeout=timeout)
    out, err = stdout.read().decode(), stderr.read().decode()
    return stdout.channel.recv_exit_status(), out, err


def start_dhcpd(spec, role: str, killed: int | None = None) -> None:
    """Start dhcpd in a lab host as `lab up` does: the init script inside the host, output to
    a file (the forked dhcpd would hold a pipe open). The init script refuses to start while
    the pid file names any process, and a SIGKILLed dhcpd stays a zombie until this machine's
    init reaps it, so pass killed= to wait for that first."""
    import os
    import subprocess
    import time

    from wizard.lab import namespaces as ns
    deadline = time.monotonic() + 20
    while killed and os.path.exists(f"/proc/{killed}") and time.monotonic() < deadline:
        time.sleep(0.1)
    log = spec.host_dir(role) / "lab-daemons.log"
    with open(log, "ab") as fh:
        from wizard.lab.lifecycle import dhcpd_start_command

        proc = subprocess.run(ns.host_command(spec, role, dhcpd_start_command(spec, role)),
                              stdout=fh, stderr=fh, stdin=subprocess.DEVNULL,
                              env=ns.clean_env(), timeout=30)
    assert proc.returncode == 0, f"dhcpd did not start on the {role}; see {log}"
