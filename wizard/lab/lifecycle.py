"""lab up / down / status.

`up` either finishes or tears down what it made; `down` removes every namespace, mount, link,
file and process of the lab, finding processes by the network namespace they run in (never by
name, so nothing outside the lab is touched).
"""

from __future__ import annotations

from contextlib import contextmanager

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone

from wizard.answers import answers_from_dict, dump_answers
from wizard.lab import namespaces as ns
from wizard.lab import daemons
from wizard.lab.hostfs import (build_host, build_router, clock_offset_env, known_hosts_line,
                               mount_script)
from wizard.lab.spec import LAB_USER, ROLES, LabError, LabSpec

def dhcpd_start_command(spec: LabSpec, role: str) -> list[str]:
    """How the host's own distribution starts dhcpd."""
    if spec.flavor(role) == "rhel":
        return ["systemctl", "start", "dhcpd"]
    return ["service", "isc-dhcp-server", "start"]


@contextmanager
def _machine_lock():
    """Labs share one machine-wide account (LAB_USER): building or removing one lab while
    another is half-built must not delete the account under the other's running hosts."""
    import fcntl

    from wizard.lab.spec import state_root

    root = state_root()
    root.mkdir(parents=True, exist_ok=True)
    with open(root / ".lock", "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def up(spec: LabSpec, skew_secondary: float = 0.0, progress=print) -> dict:
    with _machine_lock():
        return _up(spec, skew_secondary, progress)


def _up(spec: LabSpec, skew_secondary: float, progress) -> dict:
    ns.preflight(need_faketime=bool(skew_secondary), need_relay=spec.routed)
    current = _read_state(spec)
    if current:
        st = status(spec)
        # Only the lab's own machinery counts here: a degraded failover pair is the user's
        # (or a drill's) to fix, and rebuilding would wipe it.
        same = current.get("skew_secondary", 0.0) == skew_secondary and \
            LabSpec.from_state({**current, "name": spec.name}) == spec
        if st["running"] and same:
            progress(f"lab {spec.name} is already up")
            return st
        progress(f"lab {spec.name} exists but differs or is unhealthy; rebuilding it")
        _down(spec, progress=lambda _m: None)
    ns.check_route_collision(spec)
    try:
        _build(spec, skew_secondary, progress)
    except BaseException:
        if os.environ.get("DHCP_WIZARD_LAB_KEEP_FAILED") == "1":
            progress("lab up failed; left as it is for a look (DHCP_WIZARD_LAB_KEEP_FAILED=1): "
                     f"`dhcp-wizard lab down --name {spec.name}` removes it")
            raise
        progress("lab up failed; removing what was made")
        _down(spec, progress=lambda _m: None)
        raise
    return status(spec)


def _build(spec: LabSpec, skew: float, progress) -> None:
    spec.state_dir.mkdir(parents=True, exist_ok=True)
    os.chmod(spec.state_dir, 0o700)
    if not spec.key_path.exists():
        ns.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", f"dhcp-wizard-lab-{spec.name}",
                "-f", str(spec.key_path)])
    pubkey = spec.key_path.with_suffix(".pub").read_text()
    _ensure_lab_user()
    password_hash = _lab_password_hash(spec)
    skews = {"primary": 0.0, "secondary": skew}
    progress("creating host file systems and keys")
    for role in ROLES:
        build_host(spec, role, skews[role], pubkey, password_hash)
        # Each host's own /etc/nftables.conf: what `protect firewall` persists into must
        # never be this machine's file.
        ns.write_private(spec.host_dir(role) / "nftables.conf", nftables_conf(spec, role), 0o755)
        if spec.firewall(role) == "iptables":
            ns.write_private(spec.host_dir(role) / "rules.v4", iptables_rules_v4(), 0o640)
        elif spec.firewall(role) == "firewalld":
            ns.write_private(spec.host_dir(role) / "firewalld-public.xml", firewalld_zone())
    if spec.routed:
        build_router(spec, pubkey, password_hash)
    spec.client_dir.mkdir(parents=True, exist_ok=True)
    if spec.routed:
        segs = ", ".join(f"{k} {v}" for k, v in spec.segments.items())
        progress(f"creating routed network {spec.subnet}: {segs} (this host {spec.gateway})")
    else:
        progress(f"creating network {spec.subnet} (bridge {spec.bridge}, this host "
                 f"{spec.gateway})")
    ns.create_network(spec)
    ns.prepare_pin_dir(spec)
    for role in spec.hosts:
        ns.create_mount_ns(spec, role, mount_script(spec, role))
    progress("starting syslogd, chronyd, sshd and dhcpd on both hosts"
             + (", sshd and dhcrelay on the router" if spec.routed else ""))
    with ThreadPoolExecutor(len(spec.hosts)) as pool:
        list(pool.map(lambda r: _start_daemons(spec, r, skews.get(r, 0.0)), spec.hosts))
    for role in ROLES:
        if spec.firewall(role) == "nftables":
            _load_nft(spec, role)
        elif spec.firewall(role) == "firewalld":
            _start_firewalld(spec, role)
        elif spec.firewall(role) == "iptables":
            _load_iptables(spec, role)
    _write_access_files(spec, skew)
    progress(f"answers file: {spec.answers_path}")


def _start_daemons(spec: LabSpec, role: str, skew: float) -> None:
    log = spec.host_dir(role) / "lab-daemons.log"
    clock = clock_offset_env(skew)

    def start(argv: list[str], env: dict[str, str]) -> None:
        # Output goes to a file, not a pipe: daemons that fork would keep a pipe open forever.
        with open(log, "ab") as fh:
            proc = subprocess.run(ns.host_command(spec, role, argv), stdout=fh, stderr=fh,
                                  stdin=subprocess.DEVNULL, env=env, timeout=30)
        if proc.returncode != 0:
            raise LabError(f"{role}: `{' '.join(argv)}` failed (exit {proc.returncode}); "
                           f"see {log}")

    # RHEL logs to /var/log/messages (rsyslog); its journalctl here reads that file.
    syslog = "/var/log/messages" if spec.flavor(role) == "rhel" and role != "router" \
        else "/var/log/syslog"
    start(["busybox", "syslogd", "-O", syslog], ns.clean_env())
    if role == "router":
        start(["/usr/sbin/sshd", "-f", "/etc/ssh/sshd_config"], ns.clean_env())
        start(["service", "isc-dhcp-relay", "start"], ns.clean_env())
        _wait_for(lambda: _tcp_open(spec.address(role), 22), 10, "router: sshd did not come up")
        _wait_for(lambda: daemons.daemon_pid(spec, role, "dhcrelay") is not None, 10,
                  f"router: dhcrelay did not start; see {spec.host_dir(role) / 'var-log'}")
        return
    start(["chronyd", "-x", "-f", "/etc/chrony/chrony.conf"], ns.clean_env(**clock))
    start(["/usr/sbin/sshd", "-f", "/etc/ssh/sshd_config"], ns.clean_env())
    start(dhcpd_start_command(spec, role), ns.clean_env())
    _wait_for(lambda: _tcp_open(spec.address(role), 22), 10, f"{role}: sshd did not come up")
    _wait_for(lambda: daemons.daemon_pid(spec, role, "dhcpd") is not None, 10,
              f"{role}: dhcpd did not start; see {spec.host_dir(role) / 'var-log' / syslog[9:]}")


def _ensure_lab_user() -> None:
    """The lab's sudo login. It exists machine-wide (accounts are not namespaced), but it
    has no password, no home and no sudo rights outside the lab hosts."""
    passwd = ns.run(["getent", "passwd", LAB_USER], check=False)
    shadow = ns.run(["getent", "shadow", LAB_USER], check=False)
    # Home "/" so that logins start cleanly; '*' rather than the default '!' because
    # OpenSSH refuses key logins to locked accounts. Touch the files only when something
    # is missing: useradd and usermod replace /etc/shadow by a rename, and since Linux 3.18
    # that detaches the private /etc/shadow bound over it in every running lab host.
    if passwd.returncode == 0 and passwd.stdout.split(":")[5:6] == ["/"] and \
            shadow.stdout.split(":")[1:2] == ["*"]:
        return
    if passwd.returncode != 0:
        ns.run(["useradd", "--system", "--no-create-home", "--shell", "/bin/sh",
                "--comment", "dhcp-wizard lab (sudo inside the lab only)", LAB_USER])
    ns.run(["usermod", "--home", "/", "-p", "*", LAB_USER])


def _lab_password_hash(spec: LabSpec) -> str:
    """The lab user's password, made once per lab and kept beside its key; returned hashed
    for the hosts' private /etc/shadow. The machine's own /etc/shadow never holds it."""
    if not spec.password_path.exists():
        ns.write_private(spec.password_path, secrets.token_urlsafe(18) + "\n", mode=0o600)
    password = spec.password_path.read_text().strip()
    return ns.run(["openssl", "passwd", "-6", "-stdin"], input=password + "\n").stdout.strip()


def _remove_lab_user_if_unused() -> list[str]:
    from wizard.lab.spec import state_root

    others = [p for p in state_root().glob("*/state.json")] if state_root().exists() else []
    if others or ns.run(["getent", "passwd", LAB_USER], check=False).returncode != 0:
        return []
    ns.run(["userdel", LAB_USER], check=False)
    return [f"user {LAB_USER}"]


def _write_access_files(spec: LabSpec, skew: float) -> None:
    ns.write_private(spec.known_hosts_path,
                     "".join(known_hosts_line(spec, role) for role in spec.hosts), mode=0o644)
    host = lambda role: {"host": spec.address(role), "user": spec.login_user,  # noqa: E731
                         "sudo": not spec.root_login, "identity": str(spec.key_path),
                         "known_hosts": str(spec.known_hosts_path)}
    extra = {}
    if spec.routed:
        # The router's dhcrelay is checked over SSH, as the primary is reached.
        extra["relays"] = {"ssh": [spec.address("router")]}
        # A working example for `protect tunnel`: the spare segment of the lab's subnet.
        extra["tunnel"] = {"addresses": list(spec.tunnel_addresses)}
    answers = answers_from_dict({
        "primary": host("primary"),
        "secondary": host("secondary"),
        # The guide's ports and a short MCLT, so drills on the lab take seconds, not an hour.
        "failover": {"name": "failover-partner", "primary_port": 519, "secondary_port": 520,
                     "mclt": 30, "split": 128, "max_response_delay": 15,
                     "max_unacked_updates": 10, "load_balance_max_seconds": 3,
                     "pools": [str(spec.served_network)]},
        "omapi": {"port": 7911, "key_name": "omapi_key",
                  "secret_file": str(spec.state_dir / "omapi.secret")},
        "drill": {"probe": f"lab:{spec.name}"},
        **extra,
    }, source=str(spec.answers_path))
    header = (f"# Answers for the dhcp-wizard lab {spec.name!r} ({spec.subnet}), written by "
              "`dhcp-wizard lab up`.\n# Use it with: dhcp-wizard --answers "
              f"{spec.answers_path}\n\n")
    ns.write_private(spec.answers_path, header + dump_answers(answers), mode=0o600)
    state = {**spec.as_state(), "skew_secondary": skew,
             "created": datetime.now(timezone.utc).isoformat(timespec="seconds")}
    ns.write_private(spec.state_file, json.dumps(state, indent=2) + "\n")


def nftables_conf(spec: LabSpec, role: str) -> str:
    """Debian's stock file (loaded by nothing until nftables.service is enabled), or the lab's
    host ruleset where the lab runs one."""
    if spec.firewall(role) == "nftables":
        return "#!/usr/sbin/nft -f\n\nflush ruleset\n\n" + host_ruleset(spec)
    return ("#!/usr/sbin/nft -f\n\nflush ruleset\n\ntable inet filter {\n\tchain input {\n"
            "\t\ttype filter hook input priority filter;\n\t}\n\tchain forward {\n"
            "\t\ttype filter hook forward priority filter;\n\t}\n\tchain output {\n"
            "\t\ttype filter hook output priority filter;\n\t}\n}\n")


def host_ruleset(spec: LabSpec) -> str:
    """A typical Debian host ruleset (/etc/nftables.conf style): default drop on input, the
    services the host offers open to all. Rules live in the netns: `lab down` takes them."""
    return """table inet filter {
	chain input {
		type filter hook input priority filter; policy drop;
		ct state established,related accept
		iif "lo" accept
		ip protocol icmp accept
		tcp dport 22 accept
		udp dport { 67, 68 } accept
		tcp dport { 519, 520, 647, 847 } accept
		tcp dport 7911 accept
	}
}
"""


def _load_nft(spec: LabSpec, role: str) -> None:
    # As the host's nftables.service would at boot: its own /etc/nftables.conf.
    proc = subprocess.run(ns.host_command(spec, role, ["nft", "-f", "/etc/nftables.conf"]),
                          capture_output=True, timeout=10)
    if proc.returncode != 0:
        raise LabError(f"{role}: nft refused the lab's host ruleset: "
                       f"{proc.stderr.decode(errors='replace').strip()}")


def iptables_rules_v4() -> str:
    """The same host policy as host_ruleset, as iptables-persistent keeps it
    (/etc/iptables/rules.v4, iptables-save format)."""
    return """# Generated by iptables-save (dhcp-wizard lab)
*filter
:INPUT DROP [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
-A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
-A INPUT -i lo -j ACCEPT
-A INPUT -p icmp -j ACCEPT
-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT
-A INPUT -p udp -m multiport --dports 67,68 -j ACCEPT
-A INPUT -p tcp -m multiport --dports 519,520,647,847 -j ACCEPT
-A INPUT -p tcp -m tcp --dport 7911 -j ACCEPT
COMMIT
"""


def _load_iptables(spec: LabSpec, role: str) -> None:
    # As netfilter-persistent would at boot: iptables-restore of /etc/iptables/rules.v4.
    proc = subprocess.run(ns.host_command(spec, role, ["sh", "-c", "iptables-legacy-restore "
                                                       "< /etc/iptables/rules.v4"]),
                          capture_output=True, timeout=10)
    if proc.returncode != 0:
        raise LabError(f"{role}: iptables-legacy-restore refused the lab's host rules: "
                       f"{proc.stderr.decode(errors='replace').strip()}")


def firewalld_zone() -> str:
    """The default zone as an admin of a failover pair leaves it, permanently: ssh, DHCP,
    the failover ports and OMAPI."""
    ports = "".join(f'  <port port="{p}" protocol="tcp"/>\n'
                    for p in ("519-520", "647", "847", "7911"))
    return ('<?xml version="1.0" encoding="utf-8"?>\n<zone>\n  <short>Public</short>\n'
            '  <service name="ssh"/>\n  <service name="dhcpv6-client"/>\n'
            f'  <service name="dhcp"/>\n{ports}  <forward/>\n</zone>\n')


def restart_firewalld(spec: LabSpec, role: str) -> None:
    """Stop the host's firewalld (SIGTERM, as systemd stops it) and start it again, as a
    `systemctl restart firewalld` would. The process is found by the host's network
    namespace: every lab shares this machine's process list."""
    pids = [p for p in ns.run(["ip", "netns", "pids", spec.netns(role)]).stdout.split()
            if _comm(p) == "firewalld"]
    for pid in pids:
        os.kill(int(pid), signal.SIGTERM)
    _wait_for(lambda: not any(_comm(p) == "firewalld" for p in pids), 20,
              f"{role}: firewalld did not stop")
    _start_firewalld(spec, role, with_bus=False)


def _comm(pid: str) -> str:
    try:
        with open(f"/proc/{pid}/comm") as fh:
            return fh.read().strip()
    except OSError:
        return ""


def _start_firewalld(spec: LabSpec, role: str, with_bus: bool = True) -> None:
    """The real firewalld (nftables backend) on its own system bus: the host's /run is
    private, so a dbus-daemon --system there is that host's bus alone, and firewall-cmd
    inside the host talks to it. Its /etc is its own (an overlay), so --permanent and
    `firewall-cmd --reload` work as on a real host; the zone it starts with is the
    permanent one written by build (firewalld_zone). About 0.7 s, so it starts only where
    asked."""
    def host(argv, timeout=10):
        return subprocess.run(ns.host_command(spec, role, argv), capture_output=True,
                              text=True, timeout=timeout, stdin=subprocess.DEVNULL)

    log = "/var/log/firewalld"
    bus = [["mkdir", "-p", "/run/dbus"], ["dbus-daemon", "--system", "--fork"]]
    for argv in (*(bus if with_bus else []),
                 ["sh", "-c", f"setsid firewalld --nofork --nopid --log-file {log} "
                  "</dev/null >/dev/null 2>&1 &"]):
        proc = host(argv)
        if proc.returncode != 0:
            raise LabError(f"{role}: `{' '.join(argv)}` failed: {proc.stderr.strip()}")
    _wait_for(lambda: host(["firewall-cmd", "--state"]).stdout.strip() == "running", 15,
              f"{role}: firewalld did not come up; see {spec.host_dir(role) / 'var-log'}")


def down(spec: LabSpec, progress=print) -> list[str]:
    if os.geteuid() != 0:
        ns.preflight()  # raises the root message
    with _machine_lock():
        return _down(spec, progress)


def _down(spec: LabSpec, progress) -> list[str]:
    if os.geteuid() != 0:
        ns.preflight()  # raises the root message
    removed: list[str] = []
    for role in ns.ALL_NETNS:
        killed = _kill_netns_processes(spec.netns(role))
        if killed:
            removed.append(f"{killed} process(es) in {spec.netns(role)}")
    removed += ns.release_mount_ns(spec)
    removed += ns.delete_network(spec)
    if spec.state_dir.exists():
        shutil.rmtree(spec.state_dir)
        removed.append(f"directory {spec.state_dir}")
    removed += _remove_lab_user_if_unused()
    parent = spec.run_dir.parent
    if parent.exists() and not any(parent.iterdir()):
        parent.rmdir()
    progress(f"lab {spec.name}: " + ("removed " + ", ".join(removed) if removed
                                     else "nothing to remove"))
    return removed


def _kill_netns_processes(netns: str) -> int:
    pids = ns.netns_pids(netns)
    for sig, wait in ((signal.SIGTERM, 3.0), (signal.SIGKILL, 2.0)):
        for pid in pids:
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline and any(daemons.alive(p) for p in pids):
            time.sleep(0.05)
        if not any(daemons.alive(p) for p in pids):
            break
    return len(pids)


def _tcp_open(address: str, port: int) -> bool:
    try:
        with socket.create_connection((address, port), timeout=0.5):
            return True
    except OSError:
        return False


def _wait_for(predicate, timeout: float, message: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise LabError(message)
        time.sleep(0.1)


def _read_state(spec: LabSpec) -> dict | None:
    try:
        return json.loads(spec.state_file.read_text())
    except (OSError, ValueError):
        return None


def status(spec: LabSpec) -> dict:
    state = _read_state(spec)
    hosts = {}
    for role in spec.hosts:   # the router too; it is reported apart below
        pids = {d: daemons.daemon_pid(spec, role, d) for d in daemons.pidfiles(spec, role)}
        hosts[role] = {
            "address": spec.address(role),
            "flavor": "debian" if role == "router" else spec.flavor(role),
            "netns": spec.netns(role),
            "netns_present": ns.netns_exists(spec.netns(role)),
            "mount_namespace": str(spec.mount_pin(role)),
            "mount_namespace_present": ns.mount_ns_exists(spec, role),
            "daemons": {d: {"running": pid is not None, "pid": pid} for d, pid in pids.items()},
            "ssh": f"{spec.login_user}@{spec.address(role)}",
            "dhcpd_conf": None if role == "router" else
            str(spec.host_dir(role) / "etc-dhcp" / "dhcpd.conf"),
            "files": str(spec.host_dir(role)),
            "skew_seconds": (state or {}).get("skew_secondary", 0.0) if role == "secondary" else 0.0,
        }
    client = {"netns": spec.netns("client"), "netns_present": ns.netns_exists(spec.netns("client"))}
    running = bool(state) and client["netns_present"] and all(
        h["netns_present"] and h["mount_namespace_present"]
        and all(d["running"] for d in h["daemons"].values()) for h in hosts.values())
    router = hosts.pop("router", None)
    if router is not None:
        router["relay"] = _relay_status(spec) if state else None
    # A pair whose daemons all run can still serve no one (a peer left in shutdown by a
    # drill survives restarts), so once the lab runs failover its state decides too.
    failover = None
    if state is not None and all(hosts[r]["netns_present"] for r in ROLES):
        from wizard.lab.pair_state import failover_health

        failover = failover_health(spec)
    return {
        "name": spec.name,
        "up": state is not None,
        "healthy": running and (failover is None or failover["healthy"]),
        "running": running,         # every namespace and daemon of the lab is there
        "failover": failover,       # None: the lab runs its non-failover baseline
        "subnet": spec.subnet,
        "topology": spec.topology,
        "segments": {k: str(v) for k, v in spec.segments.items()},
        "router": router,           # None: the flat topology has no router
        "bridge": {"name": spec.bridge, "address": spec.gateway,
                   "present": ns.link_exists(spec.bridge)},
        "hosts": hosts,
        "client": client,
        "pool": list(spec.pool),
        "answers": str(spec.answers_path) if state else None,
        "ssh_key": str(spec.key_path) if state else None,
        # A non-root login with sudo, by the lab key or by this password.
        "sudo_user": {"name": LAB_USER, "password_file": str(spec.password_path)}
        if state else None,
        "known_hosts": str(spec.known_hosts_path) if state else None,
        "state_dir": str(spec.state_dir),
        "created": (state or {}).get("created"),
    }


def existing_spec(name: str) -> LabSpec:
    """The spec of a lab that is up (subnet, topology, flavors from its state), or a
    default one."""
    from wizard.lab.spec import state_root

    try:
        state = json.loads((state_root() / name / "state.json").read_text())
        return LabSpec.from_state({**state, "name": name})
    except (OSError, ValueError, KeyError):
        return LabSpec(name=name)


def _relay_status(spec: LabSpec) -> dict:
    from wizard.lab.relay import configured_servers

    servers = configured_servers(spec)
    return {"servers": servers,
            "forwards_to": [r for r in ROLES if spec.address(r) in servers],
            "defaults_file": str(spec.host_dir("router") / "etc-default" / "isc-dhcp-relay")}

