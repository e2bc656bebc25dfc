"""The private file systems of the lab hosts: directories, keys and configuration files.

Each host gets whole directories of its own (PRIVATE_DIRS), seeded from this machine's so that
the distribution's scripts find what they expect, then given the lab's configuration.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from string import Template

from assets import asset_text
from wizard.lab.namespaces import faketime_lib, run, write_private
from wizard.lab.spec import LAB_USER, PRIVATE_DIRS, LabSpec

# Seeded from the machine: the init script and sshd read more than the files the lab writes.
_SEED = {"etc-dhcp": "/etc/dhcp", "etc-default": "/etc/default", "etc-ssh": "/etc/ssh",
         "etc-chrony": "/etc/chrony", "etc-sudoers.d": "/etc/sudoers.d"}


def render(name: str, **values: object) -> str:
    return Template(asset_text("lab", name)).substitute({k: str(v) for k, v in values.items()})


def clock_offset_env(skew: float) -> dict[str, str]:
    """Environment that makes a process see a clock `skew` seconds off (libfaketime)."""
    if not skew:
        return {}
    lib = faketime_lib()
    # NO_FAKE_STAT: file times stay real, or dhcpd's lease-file handling gets confused.
    return {"LD_PRELOAD": lib or "", "FAKETIME": f"{skew:+g}", "NO_FAKE_STAT": "1",
            "DONT_FAKE_MONOTONIC": "1"}


def build_host(spec: LabSpec, role: str, skew: float, authorized_key: str,
               password_hash: str) -> None:
    base = spec.host_dir(role)
    if base.exists():
        shutil.rmtree(base)
    for sub in PRIVATE_DIRS:
        (base / sub).mkdir(parents=True, exist_ok=True)
    for sub, source in _SEED.items():
        if os.path.isdir(source):
            shutil.copytree(source, base / sub, symlinks=True, dirs_exist_ok=True)
    (base / "dev-stage").mkdir()
    os.chmod(base / "tmp", 0o1777)
    os.chmod(base / "root", 0o700)
    (base / "run" / "sshd").mkdir(mode=0o755)

    address = spec.address(role)
    env = clock_offset_env(skew)
    net, remote = spec.network, spec.remote_network
    pool, remote_pool = spec.pool, (str(remote.network_address + 100),
                                    str(remote.network_address + 199))
    write_private(base / "etc-dhcp" / "dhcpd.conf", render(
        "dhcpd.conf.tmpl", role=role, lab_network=net.network_address, lab_netmask=net.netmask,
        gateway=spec.gateway, pool_start=pool[0], pool_end=pool[1],
        remote_network=remote.network_address, remote_netmask=remote.netmask,
        remote_gateway=remote.network_address + 1, remote_pool_start=remote_pool[0],
        remote_pool_end=remote_pool[1]))
    # The init script runs under `env -i` (service(8)), so a skewed clock for dhcpd has to
    # come from the defaults file it sources.
    clock_env = "".join(f'export {k}="{v}"\n' for k, v in env.items())
    if clock_env:
        clock_env = "# The lab runs this host's clock off on purpose (lab up --skew-secondary).\n" \
                    + clock_env
    write_private(base / "etc-default" / "isc-dhcp-server",
                  render("isc-dhcp-server.default.tmpl", role=role, clock_env=clock_env))
    (base / "var-lib-dhcp" / "dhcpd.leases").touch()

    for old in (base / "etc-ssh").glob("ssh_host_*"):
        old.unlink()
    run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", f"{spec.name}-{role}",
         "-f", str(base / "etc-ssh" / "ssh_host_ed25519_key")])
    setenv = ""
    if env:
        # The skew must show in `date` over SSH too; sshd itself (and its seccomp sandbox)
        # stays unpreloaded, only the sessions get the library.
        setenv = "SetEnv " + " ".join(f"{k}={v}" for k, v in env.items())
    write_private(base / "etc-ssh" / "sshd_config",
                  render("sshd_config.tmpl", role=role, address=address, clock_setenv=setenv,
                         lab_user=LAB_USER))
    write_private(base / "etc-chrony" / "chrony.conf",
                  render("chrony.conf.tmpl", role=role, lab_cidr=net, address=address))
    write_private(base / "root" / ".ssh" / "authorized_keys", authorized_key, mode=0o600)
    os.chmod(base / "root" / ".ssh", 0o700)
    # The sudo user has no home: sshd finds its key under the host's private /etc/ssh.
    write_private(base / "etc-ssh" / "authorized_keys" / LAB_USER, authorized_key, mode=0o644)
    os.chmod(base / "etc-ssh" / "authorized_keys", 0o755)
    write_private(base / "etc-sudoers.d" / "dhcp-wizard-lab",
                  f"{LAB_USER} ALL=(root) NOPASSWD: ALL\n", mode=0o440)
    # The host's own /etc/shadow (a file bound over the machine's inside the host only):
    # root keeps key login alone ('*'), the sudo user gets the lab's password.
    write_private(base / "shadow", f"root:*:20000:0:99999:7:::\n"
                  f"{LAB_USER}:{password_hash}:20000:0:99999:7:::\n", mode=0o600)


def mount_script(spec: LabSpec, role: str) -> str:
    """Shell run inside the host's new mount namespace: private dirs and a private /dev.

    /dev is private so that each host's syslogd owns its own /dev/log; dhcpd's log is how a
    sysadmin (and the wizard) sees `Both servers normal` or `time offset too large`.
    """
    base = spec.host_dir(role)
    lines = [f"mount --bind {base / sub} {target}" for sub, target in PRIVATE_DIRS.items()]
    lines.append(f"mount --bind {base / 'shadow'} /etc/shadow")
    # A sysfs of this network namespace, so the host sees its own interfaces in /sys.
    lines.append("mount -t sysfs -o ro lab-sys /sys")
    stage = base / "dev-stage"
    lines += [
        f"mount -t tmpfs -o mode=0755,size=1024k lab-dev {stage}",
        *[f"touch {stage}/{n} && mount --bind /dev/{n} {stage}/{n}"
          for n in ("null", "zero", "full", "random", "urandom", "tty")],
        f"mkdir {stage}/pts {stage}/shm && mount --rbind /dev/pts {stage}/pts",
        f"ln -s pts/ptmx {stage}/ptmx && ln -s /proc/self/fd {stage}/fd",
        f"ln -s /proc/self/fd/0 {stage}/stdin && ln -s /proc/self/fd/1 {stage}/stdout",
        f"ln -s /proc/self/fd/2 {stage}/stderr",
        f"mount --move {stage} /dev",
    ]
    return "\n".join(lines) + "\n"


def known_hosts_line(spec: LabSpec, role: str) -> str:
    pub = (spec.host_dir(role) / "etc-ssh" / "ssh_host_ed25519_key.pub").read_text().split()
    return f"{spec.address(role)} {pub[0]} {pub[1]}\n"


def host_file(spec: LabSpec, role: str, target: str) -> Path:
    """Where a file of a lab host (e.g. /etc/dhcp/dhcpd.conf) lies on this machine's disk."""
    for sub, mount in PRIVATE_DIRS.items():
        if target == mount or target.startswith(mount + "/"):
            return spec.host_dir(role) / sub / target[len(mount):].lstrip("/")
    raise ValueError(f"{target} is not in a private directory of the lab hosts")
