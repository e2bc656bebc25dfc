"""Pure parsers: the facts script's sections in, plain values out. No I/O, so each is tested
on recorded outputs of Debian/Ubuntu, RHEL-family and FreeBSD hosts (tests/data/facts/).

A fact that cannot be told is None ("unknown"), never a guess dressed up as a finding.
"""

from __future__ import annotations

import json
import re
import shlex
from dataclasses import dataclass, field

# Where each family keeps things when nothing on the host says otherwise (isc-failover-facts §4).
FAMILY_DEFAULTS = {
    "debian": {"config": "/etc/dhcp/dhcpd.conf", "leases": "/var/lib/dhcp/dhcpd.leases",
               "service": "isc-dhcp-server"},
    "rhel": {"config": "/etc/dhcp/dhcpd.conf", "leases": "/var/lib/dhcpd/dhcpd.leases",
             "service": "dhcpd"},
    "freebsd": {"config": "/usr/local/etc/dhcpd.conf", "leases": "/var/db/dhcpd/dhcpd.leases",
                "service": "isc-dhcpd"},
}
# dhcpd options that take a value (server/dhcpd.c); every other bare word is an interface.
_VALUE_OPTS = {"-p", "-cf", "-lf", "-pf", "-tf", "-play", "-s", "-user", "-group", "-chroot",
               "-4o6"}


@dataclass(frozen=True)
class OsInfo:
    id: str | None
    name: str | None
    version: str | None
    family: str | None
    kernel: str | None


def os_info(os_release: str, uname: str) -> OsInfo:
    values = _shell_assignments(os_release)
    os_id = values.get("ID")
    like = set(values.get("ID_LIKE", "").split()) | ({os_id} if os_id else set())
    kernel = uname.strip() or None
    family = None
    if like & {"debian", "ubuntu"}:
        family = "debian"
    elif like & {"rhel", "fedora", "centos"}:
        family = "rhel"
    elif os_id == "freebsd" or (kernel or "").startswith("FreeBSD"):
        family = "freebsd"
    name = values.get("PRETTY_NAME") or values.get("NAME") or (kernel.split()[0] if kernel else None)
    return OsInfo(os_id or (family if family == "freebsd" else None), name,
                  values.get("VERSION_ID"), family, kernel)


def _shell_assignments(text: str) -> dict[str, str]:
    """KEY=value lines as sh would read them (quotes removed); comments and the rest ignored."""
    out: dict[str, str] = {}
    for line in text.splitlines():
        line = line.strip()
        m = re.match(r"^(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)=(.*)$", line)
        if not m:
            continue
        try:
            words = shlex.split(m.group(2), comments=True)
        except ValueError:
            words = [m.group(2).strip("\"'")]
        out[m.group(1)] = " ".join(words)
    return out


@dataclass(frozen=True)
class DhcpdBinary:
    path: str | None
    version: str | None      # "4.4.3-P1"
    raw: str | None


def dhcpd_binary(section: str) -> DhcpdBinary:
    path = raw = version = None
    for line in section.splitlines():
        if line.startswith("path "):
            path = line[5:].strip()
        elif line.strip():
            raw = raw or line.strip()
            m = re.search(r"isc-dhcpd-(\S+)", line)
            if m and version is None:
                version = m.group(1)
    return DhcpdBinary(path, version, raw)


@dataclass(frozen=True)
class DhcpdProcess:
    pid: int
    args: tuple[str, ...]

    def option(self, name: str) -> str | None:
        args = list(self.args)
        for i, word in enumerate(args[:-1]):
            if word == name:
                return args[i + 1]
        return None

    @property
    def interfaces(self) -> tuple[str, ...]:
        out, skip = [], True  # args[0] is the program
        for word in self.args:
            if skip:
                skip = False
                continue
            if word in _VALUE_OPTS:
                skip = True
            elif not word.startswith("-"):
                out.append(word)
        return tuple(out)


def dhcpd_process(pidfiles: str, procs: str) -> DhcpdProcess | None:
    """The running IPv4 dhcpd of this host.

    The pid file is trusted first; otherwise a process in this network namespace. Processes
    known to sit in another namespace (containers, labs) are never taken for this host's.
    """
    listed: dict[int, tuple[str, tuple[str, ...]]] = {}
    for line in procs.splitlines():
        parts = line.split(None, 2)
        if len(parts) < 3 or not parts[0].isdigit():
            continue
        args = tuple(parts[2].split())
        if "-6" in args:
            continue
        listed[int(parts[0])] = (parts[1], args)
    for line in pidfiles.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[1].isdigit() and int(parts[1]) in listed:
            pid = int(parts[1])
            if listed[pid][0] != "0":
                return DhcpdProcess(pid, listed[pid][1])
    for pid, (same, args) in sorted(listed.items()):
        if same != "0":
            return DhcpdProcess(pid, args)
    return None


def config_files(section: str) -> dict[str, str]:
    """The `@@file PATH` sub-sections of the config-files section."""
    files: dict[str, list[str]] = {}
    current = None
    for line in section.splitlines():
        if line.startswith("@@file "):
            current = files.setdefault(line[7:].strip(), [])
        elif current is not None:
            current.append(line)
    return {k: "\n".join(v) for k, v in files.items()}


@dataclass(frozen=True)
class Service:
    manager: str | None          # "systemd", "sysv", "freebsd-rc"
    name: str | None
    restart: str | None
    unit_exec: str | None = None  # systemd ExecStart, for -cf/-lf


def service(section: str, family: str | None) -> Service:
    systemd = False
    scripts: list[str] = []
    has_service_cmd = False
    units: list[dict[str, str]] = []
    current: dict[str, str] = {}
    for line in section.splitlines():
        if line == "manager systemd":
            systemd = True
        elif line.startswith("script "):
            scripts.append(line[7:].strip())
        elif line.startswith("service-command "):
            has_service_cmd = True
        elif line.startswith("unit "):
            current = {"Id": line[5:].strip()}
            units.append(current)
        elif "=" in line and units:
            key, _, value = line.partition("=")
            current[key] = value
    if systemd:
        for unit in units:
            if unit.get("LoadState") == "loaded":
                name = unit["Id"]
                return Service("systemd", name.removesuffix(".service"),
                               f"systemctl restart {name}", unit.get("ExecStart"))
    for script in scripts:
        name = script.rsplit("/", 1)[1]
        if "/usr/local/etc/rc.d/" in script:
            return Service("freebsd-rc", name, f"service {name} restart")
        restart = f"service {name} restart" if has_service_cmd else f"{script} restart"
        return Service("sysv", name, restart)
    return Service("systemd" if systemd else None, None, None)


@dataclass(frozen=True)
class Located:
    value: str | None
    source: str | None   # where the value came from, said to the user


def config_path(proc: DhcpdProcess | None, files: dict[str, str], svc: Service,
                family: str | None) -> Located:
    return _path_from(proc, files, svc, family, "-cf", "config",
                      debian_var="DHCPDv4_CONF", rc_var="dhcpd_conf")


def lease_path(proc: DhcpdProcess | None, files: dict[str, str], svc: Service,
               family: str | None) -> Located:
    return _path_from(proc, files, svc, family, "-lf", "leases",
                      debian_var=None, rc_var="dhcpd_leasesfile")


def _path_from(proc, files, svc, family, flag, kind, *, debian_var, rc_var) -> Located:
    if proc is not None and proc.option(flag):
        return Located(proc.option(flag), f"running dhcpd (pid {proc.pid}) {flag}")
    default = files.get("/etc/default/isc-dhcp-server")
    if default is not None and debian_var:
        value = _shell_assignments(default).get(debian_var)
        if value:
            return Located(value, f"/etc/default/isc-dhcp-server {debian_var}")
    if svc.unit_exec:
        m = re.search(rf"(?:^|\s){re.escape(flag)}\s+(\S+)", svc.unit_exec)
        if m and "$" not in m.group(1):
            return Located(m.group(1), f"systemd unit {svc.name} ExecStart")
    sysconfig = files.get("/etc/sysconfig/dhcpd")
    if sysconfig is not None:
        args = _shell_assignments(sysconfig).get("DHCPDARGS", "").split()
        if flag in args[:-1]:
            return Located(args[args.index(flag) + 1], "/etc/sysconfig/dhcpd DHCPDARGS")
    for rc in ("/etc/rc.conf.local", "/etc/rc.conf"):
        if rc in files and rc_var:
            value = _shell_assignments(files[rc]).get(rc_var)
            if value:
                return Located(value, f"{rc} {rc_var}")
    if family in FAMILY_DEFAULTS:
        return Located(FAMILY_DEFAULTS[family][kind], f"{family} default")
    return Located(None, None)


def serving_interfaces(proc: DhcpdProcess | None, files: dict[str, str]) -> Located:
    if proc is not None and proc.interfaces:
        return Located(" ".join(proc.interfaces), f"running dhcpd (pid {proc.pid})")
    for path, var in (("/etc/default/isc-dhcp-server", "INTERFACESv4"),
                      ("/etc/default/isc-dhcp-server", "INTERFACES"),
                      ("/etc/sysconfig/dhcpd", "DHCPDARGS"),
                      ("/etc/rc.conf.local", "dhcpd_ifaces"), ("/etc/rc.conf", "dhcpd_ifaces")):
        if path in files:
            words = [w for w in _shell_assignments(files[path]).get(var, "").split()
                     if not w.startswith("-")]
            if words:
                return Located(" ".join(words), f"{path} {var}")
    # dhcpd with no interface named listens on every broadcast interface with a subnet.
    return Located(None, None)


@dataclass(frozen=True)
class Address:
    interface: str
    address: str
    prefix: int


def addresses(section: str) -> list[Address]:
    kind, _, body = section.partition("\n")
    out: list[Address] = []
    if kind == "#ip-json":
        try:
            links = json.loads(body or "[]")
        except ValueError:
            return out
        for link in links:
            for info in link.get("addr_info", []):
                if info.get("family") == "inet":
                    out.append(Address(link.get("ifname", "?"), info["local"],
                                       int(info.get("prefixlen", 32))))
    elif kind == "#ifconfig":
        iface = "?"
        for line in body.splitlines():
            m = re.match(r"^(\S+?):? ", line)
            if m and not line[0].isspace():
                iface = m.group(1)
                continue
            m = re.search(r"\binet (?:addr:)?(\d+\.\d+\.\d+\.\d+)\s+(?:netmask|Mask:)\s*(\S+)",
                          line)
            if m:
                out.append(Address(iface, m.group(1), _prefix(m.group(2))))
    return out


def _prefix(mask: str) -> int:
    if mask.startswith("0x"):
        return bin(int(mask, 16)).count("1")
    if mask.count(".") == 3:
        return sum(bin(int(x)).count("1") for x in mask.split("."))
    return 32


@dataclass(frozen=True)
class NtpStatus:
    daemon: str | None
    synchronised: bool | None
    detail: str


def ntp(section: str) -> NtpStatus:
    parts = re.split(r"^#(chronyc|ntpq|timedatectl)$", section, flags=re.M)
    found = dict(zip(parts[1::2], parts[2::2]))
    if "chronyc" in found:
        line = next((l for l in found["chronyc"].splitlines() if l.count(",") >= 13), None)
        if line:
            f = line.split(",")
            stratum, leap = int(f[2] or 0), f[13]
            synced = f[0] != "00000000" and 0 < stratum < 16 and leap != "Not synchronised"
            ref = f[1] or f[0]
            local = f[0].upper() == "7F7F0101"
            detail = (f"chrony, stratum {stratum}, reference {ref}"
                      + (" (its own local clock)" if local else "") + f", leap {leap}")
            return NtpStatus("chrony", synced, detail)
    if "ntpq" in found:
        lines = found["ntpq"].splitlines()
        peers = [l for l in lines if l[:1] in "*+-#ox. " and re.match(r"^.\S+\s+\S+\s+\d+", l)]
        if peers or "remote" in found["ntpq"]:
            sys_peer = next((l for l in peers if l.startswith("*")), None)
            if sys_peer:
                return NtpStatus("ntpd", True, f"ntpd, synchronised to {sys_peer[1:].split()[0]}")
            return NtpStatus("ntpd", False, "ntpd runs but has no system peer (not synchronised)")
    if "timedatectl" in found:
        values = dict(l.split("=", 1) for l in found["timedatectl"].splitlines() if "=" in l)
        if "NTPSynchronized" in values:
            synced = values["NTPSynchronized"] == "yes"
            return NtpStatus("systemd-timesyncd" if values.get("NTP") == "yes" else None, synced,
                             f"timedatectl: NTP={values.get('NTP', '?')}, "
                             f"synchronized={values['NTPSynchronized']}")
    return NtpStatus(None, None, "no NTP daemon found (no chronyc, ntpq or timedatectl answered)")


@dataclass(frozen=True)
class Listener:
    proto: str      # "tcp" / "udp"
    address: str    # "0.0.0.0" for any
    port: int


def listeners(section: str) -> list[Listener]:
    kind, _, body = section.partition("\n")
    out: list[Listener] = []
    for line in body.splitlines():
        f = line.split()
        if kind == "#ss" and len(f) >= 5 and f[0] in ("tcp", "udp"):
            if f[0] == "tcp" and f[1] != "LISTEN":
                continue
            local = f[4]
        elif kind == "#sockstat" and len(f) >= 6 and f[4] in ("tcp4", "udp4"):
            local = f[5]
        elif kind == "#netstat" and len(f) >= 4 and f[0].rstrip("46") in ("tcp", "udp"):
            if f[0].startswith("tcp") and (len(f) < 6 or f[5] != "LISTEN"):
                continue
            local = f[3]
        else:
            continue
        addr, sep, port = local.rpartition(":") if kind != "#netstat" or ":" in local else \
            local.rpartition(".")
        if not sep or not port.isdigit():
            continue
        addr = "0.0.0.0" if addr in ("*", "0.0.0.0", "[::]", "::") else addr.split("%")[0]
        proto = f[0] if kind == "#ss" else (f[4] if kind == "#sockstat" else f[0])
        out.append(Listener(proto.rstrip("46"), addr, int(port)))
    return out


def tools(section: str) -> dict[str, str]:
    return {l.split()[0]: l.split()[1] for l in section.splitlines() if len(l.split()) == 2}


@dataclass
class HostFacts:
    os: OsInfo
    dhcpd: DhcpdBinary
    process: DhcpdProcess | None
    service: Service
    config: Located
    leases: Located
    interfaces: Located
    addresses: list[Address]
    ntp: NtpStatus
    listening: list[Listener]
    tools: dict[str, str]
    # Filled in after the config was read (wizard.facts.gather).
    conf: dict = field(default_factory=dict)

    @property
    def running(self) -> bool:
        return self.process is not None

    def listens(self, proto: str, port: int) -> bool:
        return any(l.proto == proto and l.port == port for l in self.listening)

    def as_dict(self) -> dict:
        from dataclasses import asdict

        out = asdict(self)
        out["running"] = self.running
        return out


def host_facts(sections: dict[str, str]) -> HostFacts:
    get = lambda name: sections.get(name, "")  # noqa: E731
    osi = os_info(get("os-release"), get("uname"))
    proc = dhcpd_process(get("pidfiles"), get("procs"))
    files = config_files(get("config-files"))
    svc = service(get("service"), osi.family)
    if svc.name is None and osi.family in FAMILY_DEFAULTS and svc.manager:
        name = FAMILY_DEFAULTS[osi.family]["service"]
        svc = Service(svc.manager, name, f"systemctl restart {name}.service"
                      if svc.manager == "systemd" else f"service {name} restart")
    return HostFacts(
        os=osi, dhcpd=dhcpd_binary(get("dhcpd")), process=proc, service=svc,
        config=config_path(proc, files, svc, osi.family),
        leases=lease_path(proc, files, svc, osi.family),
        interfaces=serving_interfaces(proc, files),
        addresses=addresses(get("interfaces")), ntp=ntp(get("ntp")),
        listening=listeners(get("listen")), tools=tools(get("tools")))
