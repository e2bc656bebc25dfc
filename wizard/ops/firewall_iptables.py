"""`protect firewall` on an iptables host (iptables-legacy, or iptables-nft without an
nftables setup of its own), as pure logic: our chain, the scripts that put it in or take it
out, and the persisted file (/etc/iptables/rules.v4, iptables-persistent's layout).

Our rules are one chain of our own, CHAIN, jumped from the top of INPUT by one marked rule.
The chain only ever DROPs (failover from anyone but the peer, OMAPI from anyone but the
admins) or RETURNs (back to the host's INPUT, which decides as it always did), so whatever
the host allowed stays allowed. The host's own rules are never flushed, reordered or
rewritten: runtime changes go through `iptables-restore --noflush` (one atomic commit per
table), which only touches the lines named in the script. Lines are written in
iptables-save's own form, so the listing after the apply is the plan, line for line.

IPv6 is left alone: dhcpd's failover and OMAPI listeners are IPv4 only (the nft table's
IPv6 drop is belt and braces; here it would mean a second ruleset, rules.v6, for nothing).
"""

from __future__ import annotations

import re

CHAIN = "DHCP-WIZARD"
JUMP = f"-A INPUT -m comment --comment dhcp-wizard -j {CHAIN}"
INSERT = f"-I INPUT 1 -m comment --comment dhcp-wizard -j {CHAIN}"
RULES_V4 = "/etc/iptables/rules.v4"
BEGIN = "# BEGIN dhcp-wizard"
END = "# END dhcp-wizard"


def chain_rules(plan) -> list[str]:
    """The chain's rules as iptables-save prints them (the digest first, as a comment-only
    rule that matches and does nothing)."""
    lines = [f'-A {CHAIN} -m comment --comment "dhcp-wizard protect plan {plan.digest}"',
             f"-A {CHAIN} -i lo -j RETURN"]
    lines += [f"-A {CHAIN} -s {_host(src)} -p tcp -m tcp --dport {port} -m comment --comment "
              f'"test only: cuts the wizard" -j DROP' for port, src in plan.extra_drops]
    if plan.tunnel_peer:     # one source negated per rule: the tunnel's end RETURNs first
        lines.append(f"-A {CHAIN} -s {_host(plan.tunnel_peer)} -p tcp -m tcp --dport "
                     f"{plan.failover_port} -j RETURN")
    lines.append(f"-A {CHAIN} ! -s {_host(plan.peer)} -p tcp -m tcp --dport {plan.failover_port}"
                 f' -m comment --comment "failover only from the peer {plan.peer_words}" -j DROP')
    # iptables cannot negate a list of sources: the admins RETURN, everyone else is dropped.
    lines += [f"-A {CHAIN} -s {a} -p tcp -m tcp --dport {plan.omapi_port} -j RETURN"
              for a in plan.admin_sorted]
    lines.append(f"-A {CHAIN} -p tcp -m tcp --dport {plan.omapi_port} -m comment --comment "
                 '"OMAPI only from the admin addresses" -j DROP')
    return lines


def _host(address: str) -> str:
    return address if "/" in address else f"{address}/32"


def planned(plan) -> str:
    """What `ours` will be once the plan is in place."""
    return "\n".join([f":{CHAIN} - [0:0]", JUMP, *chain_rules(plan)]) + "\n"


def filter_section(save: str) -> list[str]:
    """The lines of the *filter table in an iptables-save dump (empty when it has none)."""
    out, inside = [], False
    for line in save.splitlines():
        if line.startswith("*"):
            inside = line.strip() == "*filter"
        elif inside and line.strip() == "COMMIT":
            inside = False
        elif inside:
            out.append(line)
    return out


def _is_ours(line: str) -> bool:
    return line.startswith((f":{CHAIN} ", f"-A {CHAIN} ")) or \
        re.search(rf"\s-j {re.escape(CHAIN)}\s*$", line) is not None


def ours(save: str) -> str:
    """Our chain and every jump to it, in the order iptables-save lists them ("" if none)."""
    lines = [line for line in filter_section(save) if _is_ours(line)]
    decl = [line for line in lines if line.startswith(":")]
    jumps = [line for line in lines if not line.startswith((":", f"-A {CHAIN} "))]
    rules = [line for line in lines if line.startswith(f"-A {CHAIN} ")]
    return "\n".join(decl + jumps + rules) + "\n" if lines else ""


def jump_first(save: str) -> bool:
    """Our jump is the first INPUT rule, and the only jump to our chain."""
    rules = [line for line in filter_section(save) if line.startswith("-A INPUT ")]
    jumps = [line for line in filter_section(save) if _is_ours(line)
             and not line.startswith((":", f"-A {CHAIN} "))]
    return bool(rules) and rules[0] == JUMP and jumps == [JUMP]


def _delete(line: str) -> str:
    return "-D" + line[2:]


def apply_script(plan, save: str) -> str:
    """An `iptables-restore --noflush` script: our chain declared (which creates it, or
    empties only it), refilled, and one jump at the top of INPUT. Jumps to our chain that
    are not that (a second one, or ours pushed down by rules added since) are deleted first;
    nothing else is named, so nothing else changes."""
    lines = ["*filter", f":{CHAIN} - [0:0]"]
    if not jump_first(save):
        lines += [_delete(line) for line in filter_section(save)
                  if _is_ours(line) and not line.startswith((":", f"-A {CHAIN} "))]
        lines.append(INSERT)
    lines += chain_rules(plan)
    return "\n".join(lines + ["COMMIT"]) + "\n"


def remove_script(save: str) -> str | None:
    """Takes our jumps and chain out (None when there is nothing of ours)."""
    lines = filter_section(save)
    if not any(_is_ours(line) for line in lines):
        return None
    out = ["*filter"]
    out += [_delete(line) for line in lines
            if _is_ours(line) and not line.startswith((":", f"-A {CHAIN} "))]
    if any(line.startswith(f":{CHAIN} ") for line in lines):
        out += [f"-F {CHAIN}", f"-X {CHAIN}"]
    return "\n".join(out + ["COMMIT"]) + "\n"


def rules_v4_without(text: str) -> str:
    """The persisted file without anything of ours: our marked block, and our chain's lines
    where an `iptables-save > rules.v4` copied them in unmarked."""
    out, skip = [], False
    for line in text.splitlines():
        if line.startswith(BEGIN):
            skip = True
        elif skip and line.startswith(END):
            skip = False
        elif not skip and not _is_ours(line):
            out.append(line)
    return "\n".join(out) + ("\n" if out else "")


def rules_v4_with(text: str, plan) -> str:
    """The persisted file with our block at the end of its *filter table (or a *filter table
    of its own when the file has none). At boot the file is restored whole; `-I INPUT 1`
    puts our jump first wherever the block sits."""
    block = [f"{BEGIN} (dhcp-wizard protect firewall; managed block)", f":{CHAIN} - [0:0]",
             INSERT, *chain_rules(plan), END]
    lines = rules_v4_without(text).splitlines()
    inside = False
    for i, line in enumerate(lines):
        if line.startswith("*"):
            inside = line.strip() == "*filter"
        elif inside and line.strip() == "COMMIT":
            return "\n".join(lines[:i] + block + lines[i:]) + "\n"
    tail = ["*filter", ":INPUT ACCEPT [0:0]", ":FORWARD ACCEPT [0:0]", ":OUTPUT ACCEPT [0:0]",
            *block, "COMMIT"]
    return "\n".join(lines + tail) + "\n"
