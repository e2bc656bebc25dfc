"""Low-level plumbing of the lab: commands, network namespaces, links, pinned mount namespaces."""

from __future__ import annotations

import ipaddress
import json
import os
import shutil
import subprocess
from pathlib import Path

from wizard.errors import InputError
from wizard.lab.spec import ALLOWED_SUBNETS, ROLES, ROUTER_LINKS, LabError, LabSpec

# Every namespace a lab of any topology may have: `down` removes them all, whatever the
# state file says (it may be gone, or from an older lab).
ALL_NETNS = (*ROLES, "client", "router")

REQUIRED_TOOLS = {
    "ip": "iproute2",
    "nsenter": "util-linux",
    "unshare": "util-linux",
    "dhcpd": "isc-dhcp-server",
    "dhclient": "isc-dhcp-client",
    "sshd": "openssh-server",
    "ssh-keygen": "openssh-client",
    "chronyd": "chrony",
    "busybox": "busybox",
    "start-stop-daemon": "dpkg",
    "service": "init-system-helpers",
    "sudo": "sudo",
    "openssl": "openssl",
    "useradd": "passwd",
}
FAKETIME_LIB_CANDIDATES = (
    "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1",
    "/usr/lib/aarch64-linux-gnu/faketime/libfaketime.so.1",
    "/usr/lib/faketime/libfaketime.so.1",
)
SBIN_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def clean_env(**extra: str) -> dict[str, str]:
    """What lab daemons start with: nothing of the caller's environment leaks into the lab."""
    return {"PATH": SBIN_PATH, "LANG": "C.UTF-8", "HOME": "/root", **extra}


def run(argv: list[str], *, check: bool = True, timeout: float = 30, input: str | None = None,
        env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    full_env = env if env is not None else {
        **os.environ, "PATH": SBIN_PATH + ":" + os.environ.get("PATH", "")}
    try:
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=timeout,
                              input=input, env=full_env)
    except FileNotFoundError:
        raise LabError(f"command not found: {argv[0]}",
                       "run `make setup` (or scripts/setup.sh) to install the lab's packages")
    except subprocess.TimeoutExpired:
        raise LabError(f"`{' '.join(argv)}` did not finish within {timeout:.0f} s")
    if check and proc.returncode != 0:
        detail = (proc.stderr or proc.stdout).strip()
        raise LabError(f"`{' '.join(argv)}` failed (exit {proc.returncode}): {detail}")
    return proc


def faketime_lib() -> str | None:
    return next((p for p in FAKETIME_LIB_CANDIDATES if os.path.exists(p)), None)


def preflight(need_faketime: bool = False, need_relay: bool = False) -> None:
    """Refuse early, with the fix, rather than leave a half-built lab behind."""
    if os.geteuid() != 0:
        raise InputError("the lab needs root (it creates network namespaces and mounts)",
                         "run it as root, e.g. `sudo dhcp-wizard lab up`")
    path = SBIN_PATH + ":" + os.environ.get("PATH", "")
    missing = sorted({pkg for tool, pkg in REQUIRED_TOOLS.items()
                      if shutil.which(tool, path=path) is None})
    if need_faketime and faketime_lib() is None:
        missing.append("faketime")
    if need_relay and shutil.which("dhcrelay", path=path) is None:
        missing.append("isc-dhcp-relay")
    if missing:
        raise InputError("missing packages for the lab: " + ", ".join(missing),
                         "apt-get install -y " + " ".join(missing) + "   (or run `make setup`)")
    if not os.path.exists("/proc/self/ns/net") or not os.path.exists("/proc/self/ns/mnt"):
        raise InputError("this kernel has no network or mount namespaces",
                         "the lab needs a Linux kernel with namespaces (any current one)")
    probe = subprocess.run(["unshare", "--net", "--mount", "true"], capture_output=True,
                           text=True, env={"PATH": path})
    if probe.returncode != 0:
        raise InputError("network namespaces cannot be created here: " + probe.stderr.strip(),
                         "run on a machine or container that allows them (root with "
                         "CAP_SYS_ADMIN, e.g. a VM or a privileged container)")


def check_route_collision(spec: LabSpec) -> None:
    """Refuse when the lab subnet overlaps anything the machine already routes."""
    routes = json.loads(run(["ip", "-j", "-4", "route", "show", "table", "all"]).stdout or "[]")
    lab = spec.network
    for route in routes:
        dst, dev = route.get("dst", ""), route.get("dev")
        if dst in ("", "default") or dev == spec.bridge:
            continue  # our own bridge's routes are what `up` twice finds
        try:
            net = ipaddress.IPv4Network(dst if "/" in dst else f"{dst}/32", strict=False)
        except ValueError:
            continue
        if net.overlaps(lab):
            raise InputError(
                f"the lab subnet {lab} collides with the route `{dst} dev {dev}` "
                "that this machine already has",
                f"pick a free one with `--subnet` ({', '.join(ALLOWED_SUBNETS)} or a /25 "
                "half of one), or remove what uses it")


def netns_exists(name: str) -> bool:
    return os.path.exists(f"/run/netns/{name}")


def link_exists(name: str, netns: str | None = None) -> bool:
    argv = ["ip"] + (["-n", netns] if netns else []) + ["link", "show", name]
    return run(argv, check=False).returncode == 0


def create_network(spec: LabSpec) -> None:
    if not link_exists(spec.bridge):
        run(["ip", "link", "add", spec.bridge, "type", "bridge"])
    admin = spec.segments["admin"] if spec.routed else spec.network
    run(["ip", "addr", "replace", f"{spec.gateway}/{admin.prefixlen}", "dev", spec.bridge])
    run(["ip", "link", "set", spec.bridge, "up"])
    if spec.routed:
        _create_routed(spec)
        return
    for role in (*ROLES, "client"):
        _bridged(spec, role)
        if role in ROLES:
            _address(spec, role, "eth0", spec.address(role), spec.network.prefixlen)
        run(["ip", "-n", spec.netns(role), "link", "set", "eth0", "up"])
    # No default route inside the lab on purpose: nothing in it may reach past this machine.


def _netns(name: str) -> None:
    if not netns_exists(name):
        run(["ip", "netns", "add", name])
    run(["ip", "-n", name, "link", "set", "lo", "up"])


def _bridged(spec: LabSpec, role: str) -> None:
    """The namespace, with an eth0 whose peer is on the lab bridge."""
    ns = spec.netns(role)
    _netns(ns)
    if not link_exists("eth0", ns):
        if link_exists(spec.veth(role)):
            run(["ip", "link", "del", spec.veth(role)])
        run(["ip", "link", "add", spec.veth(role), "type", "veth", "peer", "name", "eth0",
             "netns", ns])
    run(["ip", "link", "set", spec.veth(role), "master", spec.bridge, "up"])


def _address(spec: LabSpec, role: str, dev: str, address: str, prefixlen: int) -> None:
    run(["ip", "-n", spec.netns(role), "addr", "replace", f"{address}/{prefixlen}", "dev", dev])


def _create_routed(spec: LabSpec) -> None:
    """Two server sites and a client segment, each a link of its own to the router, and
    this host on a fourth. Only the router forwards (so the failover traffic between the
    peers crosses a hop, TTL and all), and only the lab subnet is routed anywhere."""
    rtr = spec.netns("router")
    _netns(rtr)
    if not link_exists(ROUTER_LINKS["admin"], rtr):
        if link_exists(spec.veth("router")):
            run(["ip", "link", "del", spec.veth("router")])
        run(["ip", "link", "add", spec.veth("router"), "type", "veth", "peer", "name",
             ROUTER_LINKS["admin"], "netns", rtr])
    run(["ip", "link", "set", spec.veth("router"), "master", spec.bridge, "up"])
    for role, segment in (("primary", "site-a"), ("secondary", "site-b"), ("client", "clients")):
        ns, link = spec.netns(role), ROUTER_LINKS[segment]
        _netns(ns)
        if not link_exists("eth0", ns):
            if link_exists(link, rtr):
                run(["ip", "-n", rtr, "link", "del", link])
            run(["ip", "link", "add", link, "netns", rtr, "type", "veth", "peer", "name", "eth0",
                 "netns", ns])
        run(["ip", "-n", ns, "link", "set", "eth0", "up"])
        if role in ROLES:
            _address(spec, role, "eth0", spec.address(role), spec.prefixlen(role))
            run(["ip", "-n", ns, "route", "replace", str(spec.network), "via",
                 spec.router_address(segment)])
    for segment, link in ROUTER_LINKS.items():
        net = spec.segments[segment]
        _address(spec, "router", link, spec.router_address(segment), net.prefixlen)
        run(["ip", "-n", rtr, "link", "set", link, "up"])
    run(["ip", "netns", "exec", rtr, "sysctl", "-q", "-w", "net.ipv4.ip_forward=1"])
    run(["ip", "route", "replace", str(spec.network), "via", spec.router_address("admin"),
         "dev", spec.bridge])


def delete_network(spec: LabSpec) -> list[str]:
    removed = []
    for role in ALL_NETNS:
        ns = spec.netns(role)
        if netns_exists(ns):
            run(["ip", "netns", "del", ns], check=False)
            removed.append(f"netns {ns}")
        if link_exists(spec.veth(role)):
            run(["ip", "link", "del", spec.veth(role)], check=False)
            removed.append(f"link {spec.veth(role)}")
    if link_exists(spec.bridge):
        # Its routes (the routed lab's one via the router) go with it.
        run(["ip", "link", "del", spec.bridge], check=False)
        removed.append(f"bridge {spec.bridge}")
    return removed


def netns_pids(name: str) -> list[int]:
    if not netns_exists(name):
        return []
    out = run(["ip", "netns", "pids", name], check=False).stdout
    return [int(p) for p in out.split() if p.isdigit()]


# -- pinned mount namespaces --------------------------------------------------------------

def _is_mountpoint(path: Path) -> bool:
    return run(["mountpoint", "-q", str(path)], check=False).returncode == 0


def prepare_pin_dir(spec: LabSpec) -> None:
    """A private bind mount of its own, so namespace files can be bound onto it."""
    spec.run_dir.mkdir(parents=True, exist_ok=True)
    if not _is_mountpoint(spec.run_dir):
        run(["mount", "--bind", str(spec.run_dir), str(spec.run_dir)])
        run(["mount", "--make-private", str(spec.run_dir)])


def create_mount_ns(spec: LabSpec, role: str, setup_script: str) -> None:
    """Make the host's mount namespace, pinned to a file, and run setup_script inside it."""
    pin = spec.mount_pin(role)
    if not pin.exists():
        pin.touch()
    # nsenter, not `ip netns exec`: the latter runs in a mount namespace of its own, so the
    # pin would be bound there and vanish with it.
    run(["nsenter", f"--net=/run/netns/{spec.netns(role)}", "unshare", f"--mount={pin}",
         "--propagation", "private", "sh", "-ec", setup_script], timeout=30)


def mount_ns_exists(spec: LabSpec, role: str) -> bool:
    pin = spec.mount_pin(role)
    return pin.exists() and _is_mountpoint(pin)


def release_mount_ns(spec: LabSpec) -> list[str]:
    removed = []
    for role in (*ROLES, "router"):
        pin = spec.mount_pin(role)
        if mount_ns_exists(spec, role):
            run(["umount", str(pin)], check=False)
            removed.append(f"mount namespace {pin}")
    if spec.run_dir.exists():
        if _is_mountpoint(spec.run_dir):
            run(["umount", str(spec.run_dir)], check=False)
        shutil.rmtree(spec.run_dir, ignore_errors=True)
    return removed


def host_command(spec: LabSpec, role: str, argv: list[str]) -> list[str]:
    """argv prefixed so that it runs inside a lab host (its network and mount namespaces)."""
    if role == "client":
        return ["ip", "netns", "exec", spec.netns("client"), *argv]
    return ["nsenter", f"--net=/run/netns/{spec.netns(role)}", f"--mount={spec.mount_pin(role)}",
            "--", *argv]


def write_private(path: Path, text: str, mode: int = 0o644) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    os.chmod(tmp, mode)
    os.replace(tmp, path)
