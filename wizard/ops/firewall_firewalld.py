"""`protect firewall` on a firewalld host, as pure logic: the rules in firewalld's own terms.

Why firewalld's terms and not our nft table: a firewalld host loads its rules from
firewalld's permanent configuration at boot (firewalld.service conflicts with
nftables.service, so /etc/nftables.conf is never read there), and an nft table of ours is
invisible to `firewall-cmd`. So the rules become a firewalld **policy** of their own, POLICY
(ingress zone ANY, egress zone HOST: every packet to this host, whichever zone its interface
or source is in), with a negative priority so it runs before every zone, holding rich rules
that only *drop*: failover from anyone but the peer, OMAPI from anyone not in the ipset
IPSET (the admins; a rich rule negates one source only, so the set holds them all). A
policy rather than rich rules in the host's zones: one object of ours, whatever the zone
layout (several zones, source-bound zones), the host's zone files never rewritten, removal
is deleting our two files. `firewall-cmd --list-all-policies` and `--info-policy` show it.

How it is put in place: the two permanent files (the XML that `firewall-cmd --permanent
--new-policy` would write) are written, checked with `firewall-cmd --check-config`, and
loaded by `firewall-cmd --reload`; a policy or ipset cannot be created at runtime only. So
the rules are permanent from the first second: a reload or a firewalld restart loads them
again. A reload also drops every runtime-only setting of the host, so the wizard refuses to
reload a host whose runtime differs from its permanent config (DRIFT in detection), and the
watchdog's restore (our two files back as they were, then a reload) gives back the exact
previous state, runtime and permanent.
"""

from __future__ import annotations

from xml.sax.saxutils import escape, quoteattr

POLICY = "dhcp-wizard"
IPSET = "dhcp-wizard-admin"
POLICY_FILE = f"/etc/firewalld/policies/{POLICY}.xml"
IPSET_FILE = f"/etc/firewalld/ipsets/{IPSET}.xml"
FILES = (POLICY_FILE, IPSET_FILE)
PRIORITY = -100        # before every zone; after firewalld's own allow-host-ipv6 (-15000)


def _rule(family: str, port: int, source: str = "", drop: str = "drop",
          priority: int | None = None) -> str:
    src = f"    <source {source}/>\n" if source else ""
    order = f' priority="{priority}"' if priority is not None else ""
    return (f'  <rule family="{family}"{order}>\n{src}'
            f'    <port port="{port}" protocol="tcp"/>\n    <{drop}/>\n  </rule>\n')


def policy_xml(plan) -> str:
    rules = "".join(_rule("ipv4", port, f"address={quoteattr(src)}")
                    for port, src in plan.extra_drops)
    if plan.tunnel_peer:
        # A rich rule negates one source only: the tunnel's end is let through first (a
        # negative priority runs before the rules without one).
        rules += _rule("ipv4", plan.failover_port, f"address={quoteattr(plan.tunnel_peer)}",
                       "accept", priority=-1)
    rules += _rule("ipv4", plan.failover_port, f"address={quoteattr(plan.peer)} invert=\"True\"")
    rules += _rule("ipv4", plan.omapi_port, f'ipset="{IPSET}" invert="True"')
    rules += "".join(_rule("ipv6", p) for p in (plan.failover_port, plan.omapi_port))
    return ('<?xml version="1.0" encoding="utf-8"?>\n'
            f'<policy target="CONTINUE" priority="{PRIORITY}">\n'
            f"  <short>dhcp-wizard</short>\n"
            f"  <description>dhcp-wizard protect plan {plan.digest}: failover only from the "
            f"peer {escape(plan.peer_words)}, OMAPI only from the admin addresses (ipset {IPSET})"
            "</description>\n"
            '  <ingress-zone name="ANY"/>\n  <egress-zone name="HOST"/>\n'
            f"{rules}</policy>\n")


def ipset_xml(plan) -> str:
    entries = "".join(f"  <entry>{escape(a)}</entry>\n" for a in plan.admin_sorted)
    return ('<?xml version="1.0" encoding="utf-8"?>\n<ipset type="hash:net">\n'
            "  <short>dhcp-wizard admin addresses</short>\n"
            f"  <description>dhcp-wizard protect plan {plan.digest}: who may reach OMAPI"
            f"</description>\n{entries}</ipset>\n")


def files_text(policy: str, ipset: str) -> str:
    """Our two files as one text (the diff, the digest), "" when neither exists."""
    if not policy.strip() and not ipset.strip():
        return ""
    return f"# {POLICY_FILE}\n{policy}# {IPSET_FILE}\n{ipset}"


def planned(plan) -> str:
    return files_text(policy_xml(plan), ipset_xml(plan))
