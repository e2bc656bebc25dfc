"""Which lab daemons run: their pid files, and whether a pid is still that daemon, alive,
inside its host. Shared by the lab's lifecycle and its relay switch."""

from __future__ import annotations

import os

from wizard.lab.spec import LabSpec

# Pid files, as the daemons write them inside each host's private /run.
PIDFILES = {"sshd": "sshd.pid", "dhcpd": "dhcpd.pid", "chronyd": "chrony/chronyd.pid",
            "syslogd": "syslogd.pid"}
# A RHEL host's dhcpd runs --no-pid under (the lab's) systemd, which keeps its main pid.
RHEL_DHCPD_PIDFILE = "systemd/lab/dhcpd.service.pid"
ROUTER_PIDFILES = {"sshd": "sshd.pid", "syslogd": "syslogd.pid", "dhcrelay": "dhcrelay.pid"}


def pidfiles(spec: LabSpec, role: str) -> dict[str, str]:
    if role == "router":
        return ROUTER_PIDFILES
    if spec.flavor(role) == "rhel":
        return {**PIDFILES, "dhcpd": RHEL_DHCPD_PIDFILE}
    return PIDFILES


def alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().split(") ", 1)[1][0] != "Z"
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return False  # gone, or gone between the open and the read (ESRCH)


def daemon_pid(spec: LabSpec, role: str, daemon: str) -> int | None:
    """The daemon's pid, if its pid file names that daemon, alive, inside this host.

    A SIGKILLed daemon leaves its pid file behind, and nothing here reaps it (a zombie, not
    alive), and later its pid can be reused by another process of the same host (an ssh
    session, the init script): hence the three checks, not the file alone.
    """
    pidfile = spec.host_dir(role) / "run" / pidfiles(spec, role)[daemon]
    try:
        pid = int(pidfile.read_text().split()[0])
        netns_inode = os.stat(f"/run/netns/{spec.netns(role)}").st_ino
        if os.stat(f"/proc/{pid}/ns/net").st_ino != netns_inode or not alive(pid) \
                or not is_program(pid, daemon):
            return None
        return pid
    except (OSError, ValueError, IndexError):
        return None


def is_program(pid: int, daemon: str) -> bool:
    with open(f"/proc/{pid}/cmdline", "rb") as fh:
        argv = fh.read().split(b"\0")[:2]
    # busybox syslogd runs as `busybox syslogd`; sshd rewrites its argv[0] to "sshd: ...".
    return any(os.path.basename(a.decode(errors="replace").split(":")[0]) == daemon
               for a in argv)
