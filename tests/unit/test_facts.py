"""Facts: pure parsers on recorded outputs of real host shapes, and the script on the lab.

The pure part: recorded outputs and inputs, no lab."""

from __future__ import annotations

from pathlib import Path

from wizard.facts import parse_output
from wizard.facts import parse as P


DATA = Path(__file__).parents[1] / "data" / "facts"


def facts(name):
    return parse_output((DATA / f"{name}.txt").read_text())


def test_debian_sysv_host_as_seen_in_the_lab():
    f = facts("debian12-lab")
    assert (f.os.family, f.os.version) == ("debian", "12")
    assert (f.dhcpd.path, f.dhcpd.version) == ("/usr/sbin/dhcpd", "4.4.3-P1")
    # Four dhcpd processes are visible (other namespaces); the pid file names this host's.
    assert f.process.pid == 6917
    assert (f.config.value, f.interfaces.value) == ("/etc/dhcp/dhcpd.conf", "eth0")
    assert f.leases.value == "/var/lib/dhcp/dhcpd.leases"
    assert (f.service.manager, f.service.restart) == ("sysv", "service isc-dhcp-server restart")
    assert P.Address("eth0", "198.51.100.11", 24) in f.addresses
    assert f.ntp.daemon == "chrony" and f.ntp.synchronised and "local clock" in f.ntp.detail
    assert f.listens("udp", 67) and not f.listens("tcp", 647)


def test_rhel_systemd_host():
    f = facts("rhel9-systemd")
    assert (f.os.family, f.os.id, f.dhcpd.version) == ("rhel", "rocky", "4.4.2b1")
    assert f.running and f.config.value == "/etc/dhcp/dhcpd.conf"
    assert f.leases.value == "/var/lib/dhcpd/dhcpd.leases"
    assert (f.service.manager, f.service.name, f.service.restart) == (
        "systemd", "dhcpd", "systemctl restart dhcpd.service")
    assert f.interfaces.value is None  # no interface named: dhcpd serves all it has subnets on
    assert f.listens("tcp", 647) and f.listens("tcp", 7911)
    # An established connection on 647 is not a listener.
    assert [l.address for l in f.listening if l.port == 647] == ["10.20.0.11"]


def test_ubuntu_systemd_wrapping_the_debian_package():
    f = facts("ubuntu2204-systemd")
    assert (f.os.family, f.dhcpd.version, f.process.pid) == ("debian", "4.4.1", 902)
    assert f.service.restart == "systemctl restart isc-dhcp-server.service"
    assert f.ntp.synchronised is False and f.ntp.daemon == "systemd-timesyncd"
    assert P.Address("ens18", "172.16.5.2", 23) in f.addresses


def test_freebsd_rc_host():
    f = facts("freebsd14")
    assert (f.os.family, f.os.version) == ("freebsd", "14.1")
    assert f.config.value == "/usr/local/etc/dhcpd.conf"
    assert f.leases.value == "/var/db/dhcpd/dhcpd.leases"
    assert (f.service.manager, f.service.restart) == ("freebsd-rc", "service isc-dhcpd restart")
    assert f.interfaces.value == "vtnet1"
    assert P.Address("vtnet1", "10.0.1.12", 24) in f.addresses
    assert f.ntp.synchronised and "192.0.2.123" in f.ntp.detail
    assert f.listens("udp", 67) and f.listens("tcp", 647)


def test_stopped_dhcpd_falls_back_to_the_service_files():
    text = (DATA / "debian12-lab.txt").read_text()
    stopped = text.replace("/run/dhcpd.pid 6917\n/var/run/dhcpd.pid 6917\n", "")
    stopped = "\n".join(l for l in stopped.splitlines() if "dhcpd -4" not in l or " 0 " in l)
    stopped = stopped.replace("#DHCPDv4_CONF=/etc/dhcp/dhcpd.conf", "DHCPDv4_CONF=/etc/dhcp/other.conf")
    f = parse_output(stopped)
    assert not f.running  # processes in other namespaces are not this host's
    assert (f.config.value, f.config.source) == (
        "/etc/dhcp/other.conf", "/etc/default/isc-dhcp-server DHCPDv4_CONF")
    assert (f.interfaces.value, f.interfaces.source) == (
        "eth0", "/etc/default/isc-dhcp-server INTERFACESv4")


def test_missing_dhcpd_and_ntp_are_unknown_not_guessed():
    f = parse_output("@@dhw@@ os-release\nID=alpine\n@@dhw@@ dhcpd\n@@dhw@@ ntp\n@@dhw@@ end\n")
    assert f.dhcpd.path is None and f.dhcpd.version is None and not f.running
    assert f.config.value is None and f.ntp.synchronised is None
    assert f.service.restart is None


def test_dhcpd_process_arguments():
    proc = P.DhcpdProcess(1, ("dhcpd", "-user", "dhcpd", "-cf", "/x.conf", "-p", "67", "-q",
                              "eth0", "eth1"))
    assert proc.option("-cf") == "/x.conf" and proc.option("-lf") is None
    assert proc.interfaces == ("eth0", "eth1")
    assert P.dhcpd_process("", "10 1 /usr/sbin/dhcpd -6 -cf /etc/dhcp/dhcpd6.conf eth0\n") is None
