"""Rule planning and detection parsing (pure logic) for `protect firewall`."""

from wizard.ops.firewall_rules import (Plan, admin_set, admits, parse_detection, planned_digest,
                                       restore_script)

PORTS = {"519/tcp": "failover", "7911/tcp": "OMAPI", "67/udp": "DHCP"}
NFT = """==== nft-present
yes
==== nft
table inet filter {
\tchain input {
\t\ttype filter hook input priority filter; policy drop;
\t\ttcp dport 22 accept
\t\tudp dport { 67, 68 } accept
\t}
}
==== firewalld
absent
==== ssh
192.0.2.7 50000 192.0.2.1 22
"""


def test_nftables_host_is_told_and_its_ports_judged():
    det = parse_detection(NFT, PORTS)
    assert det.kind == "nftables"
    assert det.effects == {"519/tcp": "drop by policy", "7911/tcp": "drop by policy",
                           "67/udp": "accept"}
    assert det.ssh_client == "192.0.2.7"


def test_firewalld_running_wins_over_its_nft_table():
    text = NFT.replace("absent", "running") + "==== firewalld-list\n  services: ssh dhcp\n"
    det = parse_detection(text, PORTS)
    assert det.kind == "firewalld"
    assert det.effects["67/udp"].startswith("accepted")
    assert det.effects["519/tcp"].startswith("dropped")


def test_no_firewall_and_iptables():
    empty = "==== nft-present\nno\n==== firewalld\nabsent\n"
    assert parse_detection(empty, PORTS).kind == "none"
    ipt = empty + "==== iptables-legacy\n*filter\n:INPUT DROP [0:0]\n-A INPUT -p tcp -m tcp " \
        "--dport 519 -s 10.0.0.2/32 -j ACCEPT\nCOMMIT\n"
    det = parse_detection(ipt, PORTS)
    assert det.kind == "iptables"
    assert det.effects["519/tcp"] == "accept (from some sources)"
    assert det.effects["7911/tcp"] == "drop by policy"


def test_plan_drops_only_strangers_and_is_identified_by_its_digest():
    plan = Plan("primary", 519, "10.0.0.2", 7911, admin_set((), "192.0.2.7"))
    table = plan.table
    assert "tcp dport 519 ip saddr != 10.0.0.2 drop" in table
    assert "tcp dport 7911 ip saddr != { 192.0.2.7/32 } drop" in table
    assert [l for l in table.splitlines() if l.strip().endswith("accept")] == ["\t\tiif \"lo\" accept"]
    assert planned_digest(table) == plan.digest
    other = Plan("primary", 519, "10.0.0.3", 7911, ("192.0.2.7/32",))
    assert other.digest != plan.digest


def test_admin_and_restore():
    assert admin_set(("10.1.0.5/24",), "192.0.2.7") == ("10.1.0.0/24",)
    assert admits(("10.1.0.0/24",), "10.1.0.9") and not admits(("10.1.0.0/24",), "10.2.0.1")
    assert restore_script("").endswith("delete table inet dhcp_wizard\n")
    assert "comment" in restore_script('table inet dhcp_wizard {\n\tcomment "x"\n}')
