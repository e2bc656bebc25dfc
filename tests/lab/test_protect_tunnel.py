"""`protect tunnel` on the routed lab (issue 15, item 4): a Debian primary without systemd
(wg-quick by hand) and a RHEL-layout secondary (systemctl enable --now wg-quick@), both
through the sudo user, the lab's kernel without a wireguard module (wireguard-go).

In order, on one deployed pair (max-response-delay 3 s, to keep the waits short): a tunnel
that gets no handshake rolls back to the pre-state; a run killed with SIGKILL after the
tunnel is up is put back by the guards; the tunnel itself, normal over it, the wizard's
proof; the underlay's failover ports dropped by this test's own rule, the pair still normal;
`--remove`. What the hosts run is read here from the namespaces themselves (ss, ip, nft,
omshell), not from the wizard's output.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time

import pytest

from tests.conftest import REPO, run_cli
from tests.lab.test_deploy import omshell_states
from wizard.record.session import read_events

pytestmark = pytest.mark.lab

ROLES = ("primary", "secondary")
MRD = 3
IF = "wg-dhcp"
PORTS = (519, 520)


def ns(spec, role: str, *argv: str, check: bool = False, stdin: str | None = None):
    return subprocess.run(["ip", "netns", "exec", spec.netns(role), *argv], input=stdin,
                          capture_output=True, text=True, timeout=20, check=check)


def conf(spec, role: str) -> bytes:
    return (spec.host_dir(role) / "etc-dhcp" / "dhcpd.conf").read_bytes()


def wg_files(spec, role: str) -> list[str]:
    return sorted(os.listdir(spec.host_dir(role) / "etc-wireguard"))


def has_link(spec, role: str) -> bool:
    return ns(spec, role, "ip", "link", "show", IF).returncode == 0


def failover_peers(spec, role: str) -> set[tuple[str, str]]:
    flt = " or ".join(f"sport = :{p} or dport = :{p}" for p in PORTS)
    out = ns(spec, role, "ss", "-tnH", "state", "established", f"( {flt} )").stdout
    pairs = set()
    for line in out.splitlines():
        parts = line.split()
        if len(parts) >= 4:
            pairs.add((parts[2].rsplit(":", 1)[0], parts[3].rsplit(":", 1)[0]))
    return pairs


def wireguard_go(spec, role: str) -> list[int]:
    """The wireguard-go processes in this lab host's network namespace."""
    pids = subprocess.run(["ip", "netns", "pids", spec.netns(role)], capture_output=True,
                          text=True, timeout=10).stdout.split()
    found = []
    for pid in pids:
        try:
            with open(f"/proc/{pid}/comm") as fh:
                if fh.read().strip() == "wireguard-go":
                    found.append(int(pid))
        except OSError:
            pass          # ended meanwhile
    return found


def both_normal(spec, secret: str) -> bool:
    try:
        return all(omshell_states(spec, r, secret, "failover-partner") == (2, 2) for r in ROLES)
    except Exception:  # noqa: BLE001 - not answering is not normal
        return False


def wait_until(what, timeout: float, every: float = 0.5):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = what()
        if value:
            return value
        time.sleep(every)
    return what()


def normal_over(spec, secret: str, addresses: set[str], timeout: float = 30) -> bool:
    """Both normal, with every failover connection of both between these addresses."""
    def ok():
        conns = {r: failover_peers(spec, r) for r in ROLES}
        return (both_normal(spec, secret) and all(conns.values()) and
                all(set(c) <= addresses for v in conns.values() for c in v))
    return bool(wait_until(ok, timeout))


def assert_pre_state(spec, secret, before, underlay):
    assert {r: conf(spec, r) for r in ROLES} == before      # byte for byte
    for role in ROLES:
        assert not has_link(spec, role), f"{IF} still up on the {role}"
        assert wg_files(spec, role) == [], f"{role}: {wg_files(spec, role)} left"
        # wireguard-go ends on its own once its interface is deleted. Only this host's
        # count: pgrep sees every namespace's processes, another lab's tunnel among them.
        assert wait_until(lambda: not wireguard_go(spec, role), 5), wireguard_go(spec, role)
    assert normal_over(spec, secret, underlay)


@pytest.fixture(scope="module")
def pair(routed_lab, routed_spec, tmp_path_factory):
    """The routed lab rebuilt, failover deployed over the underlay, short timers."""
    from wizard.lab import lifecycle

    lifecycle.down(routed_spec, progress=lambda _m: None)
    lifecycle.up(routed_spec, progress=lambda _m: None)
    base = tmp_path_factory.mktemp("tunnel")
    text = routed_spec.answers_path.read_text()
    assert "[tunnel]" in text      # the lab writes a working example
    answers = base / "answers.toml"
    answers.write_text(re.sub(r"(?m)^max_response_delay = \d+", f"max_response_delay = {MRD}",
                              text))
    proc = run_cli("deploy", "--answers", str(answers), "--yes", "--accept", "ntp",
                   "--no-drill", "--settle", "0", "--session", str(base / "deploy"), timeout=120)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr
    secret = (routed_spec.state_dir / "omapi.secret").read_text().strip()
    underlay = {routed_spec.address(r) for r in ROLES}
    tunnel = {a.split("/")[0] for a in routed_spec.tunnel_addresses}
    assert normal_over(routed_spec, secret, underlay)
    yield {"answers": answers, "base": base, "secret": secret, "underlay": underlay,
           "tunnel": tunnel, "before": {r: conf(routed_spec, r) for r in ROLES}}
    lifecycle.down(routed_spec, progress=lambda _m: None)


def tunnel_cli(pair, *extra: str, session: str, timeout: float = 120, answers=None):
    return run_cli("protect", "tunnel", "--answers", str(answers or pair["answers"]), "--yes",
                   "--settle", "1", "--session", str(pair["base"] / session), *extra,
                   timeout=timeout)


def test_no_handshake_rolls_back_to_the_pre_state(pair, routed_spec):
    # Both endpoints point at addresses where no WireGuard listens: the tunnel comes up on
    # each host and never completes a handshake.
    bad = pair["base"] / "bad.toml"
    bad.write_text(pair["answers"].read_text().replace(
        "endpoints = []", 'endpoints = ["203.0.113.30", "203.0.113.46"]'))
    proc = tunnel_cli(pair, "--handshake-timeout", "3", session="bad", answers=bad)
    assert proc.returncode == 1, proc.stdout[-3000:] + proc.stderr
    assert "FAILED (tunnel): no WireGuard handshake within 3 s" in proc.stdout
    assert "tunnel-up  wg-dhcp up" in proc.stdout          # it did come up, on both
    assert "after the rollback: primary normal, secondary normal" in proc.stdout
    assert_pre_state(routed_spec, pair["secret"], pair["before"], pair["underlay"])


def test_killed_after_the_tunnel_is_up_the_guards_put_both_back(pair, routed_spec):
    cmd = [sys.executable, "-m", "wizard", "protect", "tunnel", "--answers",
           str(pair["answers"]), "--yes", "--session", str(pair["base"] / "killed")]
    proc = subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True)
    seen = []
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            seen.append(line)
            if "handshake" in line or not line:
                break
        assert any("handshake" in s for s in seen), "".join(seen)
        proc.kill()     # SIGKILL: no rollback by the wizard, only the guards
    finally:
        proc.wait(10)
    killed_at = time.monotonic()
    assert has_link(routed_spec, "primary") and has_link(routed_spec, "secondary")

    def back():
        # The guard's undo takes the link down, then removes its files: wait for both.
        return ({r: conf(routed_spec, r) for r in ROLES} == pair["before"] and
                not any(has_link(routed_spec, r) or wg_files(routed_spec, r) for r in ROLES))
    assert wait_until(back, 40), {r: wg_files(routed_spec, r) for r in ROLES}
    took = time.monotonic() - killed_at
    assert took < 35, took
    assert_pre_state(routed_spec, pair["secret"], pair["before"], pair["underlay"])


@pytest.fixture(scope="module")
def tunneled(pair, routed_spec):
    proc = tunnel_cli(pair, session="protect")
    return proc


def test_protect_tunnel_normal_over_the_tunnel_with_the_proof(pair, tunneled, routed_spec):
    proc = tunneled
    out = proc.stdout
    assert proc.returncode == 0, out[-4000:] + proc.stderr
    # Userspace WireGuard found by trying (this kernel has no module); each host's own way up.
    assert out.count("(wireguard-go: this kernel has no wireguard module)") == 2
    assert "`WG_QUICK_USERSPACE_IMPLEMENTATION=wireguard-go wg-quick up wg-dhcp`" in out
    assert "`systemctl enable --now wg-quick@wg-dhcp`" in out
    assert "primary: no systemd, so nothing brings wg-dhcp up at boot" in out
    assert "secondary: no systemd" not in out
    assert normal_over(routed_spec, pair["secret"], pair["tunnel"], timeout=5)
    p_ip, s_ip = sorted(pair["tunnel"])
    assert f"address {p_ip};" in conf(routed_spec, "primary").decode()
    assert f"peer address {s_ip};" in conf(routed_spec, "primary").decode()
    assert f"address {s_ip};" in conf(routed_spec, "secondary").decode()
    session = pair["base"] / "protect"
    events = read_events(session)
    keys = next(e["data"] for e in events if e["step"] == "tunnel" and e["kind"] == "keys")
    for role in ROLES:
        base = routed_spec.host_dir(role) / "etc-wireguard"
        key = base / f"{IF}.key"
        assert oct(key.stat().st_mode & 0o777) == "0o600"
        assert oct((base / f"{IF}.conf").stat().st_mode & 0o777) == "0o600"
        private = key.read_text().strip()
        public = subprocess.run(["wg", "pubkey"], input=private + "\n", capture_output=True,
                                text=True, check=True).stdout.strip()
        assert keys[role]["public_key"] == public
        assert keys[role]["implementation"] == "userspace"
        # The private key is nowhere in the evidence, the output or the commands run.
        for path in session.rglob("*"):
            if path.is_file():
                assert private not in path.read_text(errors="replace"), path
        assert private not in out and private not in proc.stderr
        assert "PrivateKey" not in (base / f"{IF}.conf").read_text()
    # Everything ran through sudo: root login is refused on this lab.
    commands = [e["data"]["command"] for e in events if e["kind"] == "command"]
    assert commands and all(c.startswith("sudo -n") for c in commands)
    proof = next(e["data"] for e in events if e["step"] == "tunnel" and e["kind"] == "proof")
    assert proof["ok"] and proof["held"] >= MRD and proof["removed"]
    assert proof["bites"] == {"primary": "dropped", "secondary": "dropped"}
    assert "DONE: the pair is normal over the tunnel" in out
    for role in ROLES:
        assert "dhcp_wizard_proof" not in ns(routed_spec, role, "nft", "list", "tables").stdout
    assert subprocess.run([sys.executable, "-m", "wizard", "verify", str(session)],
                          cwd=REPO, capture_output=True).returncode == 0


def test_underlay_failover_ports_dropped_the_pair_stays_normal(pair, tunneled, routed_spec):
    assert tunneled.returncode == 0
    ruleset = ("table inet dhwtest_underlay {\n chain i { type filter hook input priority 0;\n"
               "  iifname \"eth0\" tcp dport { 519, 520 } drop\n"
               "  iifname \"eth0\" tcp sport { 519, 520 } drop\n }\n"
               " chain o { type filter hook output priority 0;\n"
               "  oifname \"eth0\" tcp dport { 519, 520 } drop\n"
               "  oifname \"eth0\" tcp sport { 519, 520 } drop\n }\n}\n")
    try:
        for role in ROLES:
            ns(routed_spec, role, "nft", "-f", "-", stdin=ruleset, check=True)
        until = time.monotonic() + MRD + 3
        while time.monotonic() < until:
            assert both_normal(routed_spec, pair["secret"])
            time.sleep(0.5)
        assert all(failover_peers(routed_spec, r) for r in ROLES)
    finally:
        for role in ROLES:
            ns(routed_spec, role, "nft", "delete", "table", "inet", "dhwtest_underlay")


def test_the_firewall_on_the_tunnelled_pair_lets_failover_through_the_tunnel(
        pair, tunneled, routed_spec):
    """Both protections on one pair: `protect firewall` after the tunnel admits failover
    from the peer's tunnel end (and its underlay address), so the pair stays normal over
    the tunnel under the rules; the rules then come out again."""
    assert tunneled.returncode == 0
    proc = run_cli("protect", "firewall", "--answers", str(pair["answers"]), "--yes",
                   "--confirm-timeout", "40", "--session", str(pair["base"] / "fw"),
                   timeout=180)
    try:
        assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr
        p_ip, s_ip = sorted(pair["tunnel"])
        for role, other in (("primary", s_ip), ("secondary", p_ip)):
            table = ns(routed_spec, role, "nft", "list", "table", "inet", "dhcp_wizard").stdout
            assert re.search(rf"ip saddr != {{ [\d.]+, {re.escape(other)} }} drop", table), \
                table
        until = time.monotonic() + MRD + 3
        while time.monotonic() < until:
            assert both_normal(routed_spec, pair["secret"])
            time.sleep(0.5)
        assert normal_over(routed_spec, pair["secret"], pair["tunnel"], timeout=5)
    finally:
        gone = run_cli("protect", "firewall", "--answers", str(pair["answers"]), "--yes",
                       "--remove", "--session", str(pair["base"] / "fw-remove"), timeout=120)
    assert gone.returncode == 0, gone.stdout[-3000:] + gone.stderr
    for role in ROLES:
        assert "dhcp_wizard" not in ns(routed_spec, role, "nft", "list", "tables").stdout


def test_remove_puts_failover_back_on_the_underlay(pair, tunneled, routed_spec):
    assert tunneled.returncode == 0
    proc = tunnel_cli(pair, "--remove", session="remove")
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr
    assert "DONE: failover runs over the underlay again" in proc.stdout
    assert_pre_state(routed_spec, pair["secret"], pair["before"], pair["underlay"])
    again = tunnel_cli(pair, "--remove", session="remove2")
    assert again.returncode == 0 and "nothing to remove" in again.stdout
