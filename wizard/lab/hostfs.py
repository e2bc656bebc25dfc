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
from wizard.lab.spec import LAB_USER, RHEL_PRIVATE_DIRS, ROLES, LabSpec

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
    base = _fresh_base(spec, role)
    rhel = spec.flavor(role) == "rhel"
    net = spec.network
    env = clock_offset_env(skew)
    if spec.routed:
        site, client = spec.site(role), spec.served_network
        pool = spec.pool
        conf = render("dhcpd.routed.conf.tmpl", role=role, site=f"{site}",
                      site_network=site.network_address, site_netmask=site.netmask,
                      client_network=client.network_address, client_netmask=client.netmask,
                      client_gateway=spec.client_gateway, pool_start=pool[0], pool_end=pool[1])
    else:
        remote = spec.remote_network
        pool, remote_pool = spec.pool, (str(remote.network_address + 100),
                                        str(remote.network_address + 199))
        conf = render(
            "dhcpd.conf.tmpl", role=role, lab_network=net.network_address,
            lab_netmask=net.netmask, gateway=spec.gateway, pool_start=pool[0], pool_end=pool[1],
            remote_network=remote.network_address, remote_netmask=remote.netmask,
            remote_gateway=remote.network_address + 1, remote_pool_start=remote_pool[0],
            remote_pool_end=remote_pool[1])
    write_private(base / "etc-dhcp" / "dhcpd.conf", conf)
    upgrade = base / "lab-upgrade-dhcpd"
    upgrade.write_text(asset_text("lab", "lab-upgrade-dhcpd"))
    os.chmod(upgrade, 0o755)
    if rhel:
        _rhel_files(base, env)
    else:
        # The init script runs under `env -i` (service(8)), so a skewed clock for dhcpd has
        # to come from the defaults file it sources.
        clock_env = "".join(f'export {k}="{v}"\n' for k, v in env.items())
        if clock_env:
            clock_env = "# The lab runs this host's clock off on purpose " \
                        "(lab up --skew-secondary).\n" + clock_env
        write_private(base / "etc-default" / "isc-dhcp-server",
                      render("isc-dhcp-server.default.tmpl", role=role, clock_env=clock_env))
        (base / "var-lib-dhcp" / "dhcpd.leases").touch()
    setenv = ""
    if env:
        # The skew must show in `date` over SSH too; sshd itself (and its seccomp sandbox)
        # stays unpreloaded, only the sessions get the library.
        setenv = "SetEnv " + " ".join(f"{k}={v}" for k, v in env.items())
    _access_files(spec, role, base, authorized_key, password_hash, setenv,
                  extra_shadow=f"dhcpd:!!:20000::::::\n" if rhel else "")
    write_private(base / "etc-chrony" / "chrony.conf",
                  render("chrony.conf.tmpl", role=role, lab_cidr=net, address=spec.address(role)))


def build_router(spec: LabSpec, authorized_key: str, password_hash: str) -> None:
    """The routed topology's router: sshd (the wizard checks the relay over SSH) and
    Debian's isc-dhcp-relay, configured in its own /etc/default/isc-dhcp-relay."""
    base = _fresh_base(spec, "router")
    write_private(base / "etc-default" / "isc-dhcp-relay", relay_defaults(spec, ROLES))
    _access_files(spec, "router", base, authorized_key, password_hash, "")


def relay_defaults(spec: LabSpec, roles) -> str:
    return render("isc-dhcp-relay.default.tmpl",
                  servers=" ".join(spec.address(r) for r in roles))


def _fresh_base(spec: LabSpec, role: str) -> Path:
    base = spec.host_dir(role)
    if base.exists():
        shutil.rmtree(base)
    dirs = spec.private_dirs(role)
    for sub in dirs:
        (base / sub).mkdir(parents=True, exist_ok=True)
    for sub, source in _SEED.items():
        if sub in dirs and os.path.isdir(source):
            shutil.copytree(source, base / sub, symlinks=True, dirs_exist_ok=True)
    (base / "dev-stage").mkdir()
    os.chmod(base / "tmp", 0o1777)
    os.chmod(base / "root", 0o700)
    if "etc-wireguard" in dirs:
        os.chmod(base / "etc-wireguard", 0o700)     # as wireguard-tools ships it
    (base / "run" / "sshd").mkdir(mode=0o755)
    return base


def _access_files(spec: LabSpec, role: str, base: Path, authorized_key: str,
                  password_hash: str, setenv: str, extra_shadow: str = "") -> None:
    for old in (base / "etc-ssh").glob("ssh_host_*"):
        old.unlink()
    run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", f"{spec.name}-{role}",
         "-f", str(base / "etc-ssh" / "ssh_host_ed25519_key")])
    write_private(base / "etc-ssh" / "sshd_config",
                  render("sshd_config.tmpl", role=role, address=spec.address(role),
                         clock_setenv=setenv, lab_user=LAB_USER,
                         permit_root="prohibit-password" if spec.root_login else "no"))
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
                  f"{LAB_USER}:{password_hash}:20000:0:99999:7:::\n" + extra_shadow, mode=0o600)


# -- the RHEL 9 layout -------------------------------------------------------------------
# Written into the host's overlays of /etc and /usr at mount time (see mount_script).
_RHEL_LAYOUT = {
    "usr/lib/os-release": ("os-release", 0o644),
    "usr/lib/systemd/system/dhcpd.service": ("dhcpd.service", 0o644),
    "usr/bin/systemctl": ("systemctl", 0o755),
    "usr/bin/journalctl": ("journalctl", 0o755),
    "usr/sbin/service": ("service", 0o755),
    "etc/rocky-release": ("redhat-release", 0o644),
}
# Debian's files a RHEL host does not have, hidden in its overlays. /var/lib/dhcp becomes a
# link to /var/lib/dhcpd: the lab runs Debian's dhcpd binary, whose built-in lease file is
# /var/lib/dhcp/dhcpd.leases, and RHEL's unit (rightly) names none on its command line.
_RHEL_HIDDEN = ("/etc/debian_version", "/etc/default/isc-dhcp-server",
                "/etc/init.d/isc-dhcp-server", "/etc/init.d/isc-dhcp-relay",
                "/etc/default/isc-dhcp-relay", "/usr/bin/timedatectl", "/var/lib/dhcp")


def _rhel_files(base: Path, env: dict[str, str]) -> None:
    from wizard.lab.spec import RHEL_DHCPD_ID

    layout = base / "rhel-layout"
    for target, (asset, mode) in _RHEL_LAYOUT.items():
        dest = layout / target
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_text(asset_text("lab", "rhel", asset))
        os.chmod(dest, mode)
    sysconfig = asset_text("lab", "rhel", "sysconfig-dhcpd")
    if env:
        # systemd passes an EnvironmentFile's variables to the service: the skew rides there.
        sysconfig += ("\n# The lab runs this host's clock off on purpose (lab up "
                      "--skew-secondary).\n" + "".join(f"{k}={v}\n" for k, v in env.items()))
    write_private(base / "etc-sysconfig" / "dhcpd", sysconfig)
    leases = base / "var-lib-dhcpd" / "dhcpd.leases"
    leases.touch()
    # dhcpd runs as dhcpd:dhcpd (-user/-group) and rewrites its lease file in this directory.
    for path in (leases.parent, leases):
        os.chown(path, RHEL_DHCPD_ID, RHEL_DHCPD_ID)
    os.chmod(leases.parent, 0o755)
    os.chmod(leases, 0o644)
    # Where programs (and the wizard's facts script) look to tell that systemd runs.
    (base / "run" / "systemd" / "system").mkdir(parents=True)


def _rhel_prelude(spec: LabSpec, role: str, files: Path) -> list[str]:
    from wizard.lab.spec import RHEL_DHCPD_ID

    # Upper and work dirs outside every lower dir (overlayfs wants its layers apart).
    ovl = spec.run_dir / f"{role}.overlay"
    lines = []
    for sub, target in (("etc", "/etc"), ("usr", "/usr"), ("var-lib", "/var/lib")):
        lines.append(f"mkdir -p {ovl / sub / 'upper'} {ovl / sub / 'work'}")
        lines.append(f"mount -t overlay lab-{sub} -o lowerdir={target},"
                     f"upperdir={ovl / sub / 'upper'},workdir={ovl / sub / 'work'} {target}")
    # Nothing below may run on the machine's own /etc or /usr: `sh -e` stops at a failed
    # mount, and this makes sure the overlays are what is there.
    lines += [f"[ \"$(findmnt -n -o FSTYPE {t})\" = overlay ]" for t in ("/etc", "/usr", "/var/lib")]
    lines += [f"rm -rf {path}" for path in _RHEL_HIDDEN]
    if spec.firewall(role) != "firewalld":
        # This machine has firewalld installed (the lab can run it); a RHEL host asked for
        # without it must not find its tools either.
        lines.append("rm -f /usr/bin/firewall-cmd /usr/sbin/firewalld")
    layout = files / "rhel-layout"
    lines += [f"cp -a {layout / 'etc'}/. /etc/", f"cp -a {layout / 'usr'}/. /usr/",
              "ln -sf rocky-release /etc/redhat-release",
              "ln -sf rocky-release /etc/system-release",
              f"echo 'dhcpd:x:{RHEL_DHCPD_ID}:{RHEL_DHCPD_ID}:DHCP server:/:/sbin/nologin' "
              ">> /etc/passwd",
              f"echo 'dhcpd:x:{RHEL_DHCPD_ID}:' >> /etc/group",
              "ln -s dhcpd /var/lib/dhcp",
              *[f"mkdir -p {target}" for target in RHEL_PRIVATE_DIRS.values()]]
    return lines


def _firewall_files(spec: LabSpec, role: str, files: Path) -> list[str]:
    """The host firewall's boot-time files, in the host's own /etc (an overlay): where
    iptables-persistent loads rules from, and firewalld's permanent zone (so the host's
    runtime is its permanent config, as after a boot, and a `firewall-cmd --reload` keeps
    what the admin opened)."""
    if spec.firewall(role) == "iptables":
        return ["mkdir -p /etc/iptables",
                f"install -m 0640 {files / 'rules.v4'} /etc/iptables/rules.v4"]
    if spec.firewall(role) == "firewalld":
        return ["mkdir -p /etc/firewalld/zones",
                f"install -m 0644 {files / 'firewalld-public.xml'} "
                "/etc/firewalld/zones/public.xml"]
    return []


def mount_script(spec: LabSpec, role: str) -> str:
    """Shell run inside the host's new mount namespace: private dirs and a private /dev.

    /dev is private so that each host's syslogd owns its own /dev/log; dhcpd's log is how a
    sysadmin (and the wizard) sees `Both servers normal` or `time offset too large`.
    The host's files are reached through a bind of its directory under the lab's run dir:
    the state dir lies under /var/lib, which a RHEL host overlays, and binds from there
    would land in the overlay instead of on disk. /run comes last, as it hides that path.
    """
    files = spec.run_dir / f"{role}.files"
    lines = [f"mkdir -p {files}", f"mount --bind {spec.host_dir(role)} {files}"]
    if role != "router" and spec.flavor(role) == "rhel":
        lines += _rhel_prelude(spec, role, files)
    elif role != "router":
        # /usr of its own, so `lab-upgrade-dhcpd` can replace this host's dhcpd as a package
        # upgrade would, and never the machine's (the RHEL layout overlays /usr already).
        ovl = spec.run_dir / f"{role}.overlay" / "usr"
        lines += [f"mkdir -p {ovl / 'upper'} {ovl / 'work'}",
                  f"mount -t overlay lab-usr -o lowerdir=/usr,upperdir={ovl / 'upper'},"
                  f"workdir={ovl / 'work'} /usr",
                  "[ \"$(findmnt -n -o FSTYPE /usr)\" = overlay ]"]
        if spec.own_etc(role):
            # The firewall's permanent rules are written under /etc: an /etc of its own.
            etc = spec.run_dir / f"{role}.overlay" / "etc"
            lines += [f"mkdir -p {etc / 'upper'} {etc / 'work'}",
                      f"mount -t overlay lab-etc -o lowerdir=/etc,upperdir={etc / 'upper'},"
                      f"workdir={etc / 'work'} /etc",
                      "[ \"$(findmnt -n -o FSTYPE /etc)\" = overlay ]"]
    if role != "router":
        lines += _firewall_files(spec, role, files)
    if role != "router":
        lines.append(f"install -m 0755 {files / 'lab-upgrade-dhcpd'} "
                     "/usr/local/sbin/lab-upgrade-dhcpd")
    dirs = spec.private_dirs(role)
    lines += [f"mount --bind {files / sub} {target}"
              for sub, target in dirs.items() if target != "/run"]
    lines.append(f"mount --bind {files / 'shadow'} /etc/shadow")
    if role != "router":
        # Only over a file that exists: never create one in this machine's /etc.
        lines.append(f"if [ -e /etc/nftables.conf ]; then mount --bind "
                     f"{files / 'nftables.conf'} /etc/nftables.conf; fi")
    # A sysfs of this network namespace, so the host sees its own interfaces in /sys.
    lines.append("mount -t sysfs -o ro lab-sys /sys")
    stage = files / "dev-stage"
    lines += [
        f"mount -t tmpfs -o mode=0755,size=1024k lab-dev {stage}",
        *[f"touch {stage}/{n} && mount --bind /dev/{n} {stage}/{n}"
          for n in ("null", "zero", "full", "random", "urandom", "tty")],
        f"mkdir {stage}/pts {stage}/shm && mount --rbind /dev/pts {stage}/pts",
        # The tun device, for a userspace WireGuard (wireguard-go) in the host: the lab's
        # kernel has no wireguard module.
        f"if [ -c /dev/net/tun ]; then mkdir {stage}/net && touch {stage}/net/tun && "
        f"mount --bind /dev/net/tun {stage}/net/tun; fi",
        f"ln -s pts/ptmx {stage}/ptmx && ln -s /proc/self/fd {stage}/fd",
        f"ln -s /proc/self/fd/0 {stage}/stdin && ln -s /proc/self/fd/1 {stage}/stdout",
        f"ln -s /proc/self/fd/2 {stage}/stderr",
        f"mount --move {stage} /dev",
        f"mount --bind {files / 'run'} /run",
    ]
    return "\n".join(lines) + "\n"


def known_hosts_line(spec: LabSpec, role: str) -> str:
    pub = (spec.host_dir(role) / "etc-ssh" / "ssh_host_ed25519_key.pub").read_text().split()
    return f"{spec.address(role)} {pub[0]} {pub[1]}\n"


def host_file(spec: LabSpec, role: str, target: str) -> Path:
    """Where a file of a lab host (e.g. /etc/dhcp/dhcpd.conf) lies on this machine's disk."""
    for sub, mount in spec.private_dirs(role).items():
        if target == mount or target.startswith(mount + "/"):
            return spec.host_dir(role) / sub / target[len(mount):].lstrip("/")
    raise ValueError(f"{target} is not in a private directory of the lab hosts")
