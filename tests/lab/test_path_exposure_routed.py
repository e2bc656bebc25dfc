"""Issue 15's first two items on the routed lab (sudo login, RHEL secondary): `check` finds
the failover path routed through the router, with RTT and MTU figures; the ports reachable
from the client segment fail; declared trusted, the sites raise no warning. The router and
the primary are changed for one run (a listener on OMAPI, a drop rule on the router) to see
every TCP outcome from a real client segment."""

from __future__ import annotations

import json
import re
import subprocess

import pytest

from tests.conftest import run_cli
from wizard.lab import namespaces as ns
from wizard.record.session import read_events

pytestmark = pytest.mark.lab


def check_json(path, session):
    proc = run_cli("check", "--answers", str(path), "--json", "--session", str(session))
    assert proc.returncode in (0, 1), proc.stderr
    return proc, json.loads(proc.stdout)


def client_network(spec) -> tuple[str, str]:
    return tuple(ns.run(ns.host_command(spec, "client", ["ip", "-4", "-o", what, "show"])).stdout
                 for what in ("addr", "route"))


def of(report, check_id):
    return {c["host"]: c for c in report["checks"] if c["id"] == check_id}


@pytest.fixture(scope="module")
def checked(routed_lab, routed_spec, tmp_path_factory):
    session = tmp_path_factory.mktemp("path") / "session"
    return (*check_json(routed_spec.answers_path, session), session)


def test_the_path_is_routed_through_the_router_with_rtt_and_mtu(checked, routed_spec):
    proc, report, _ = checked
    path, rtt, mtu = of(report, "path"), of(report, "path-rtt"), of(report, "path-mtu")
    for role, other in (("primary", "secondary"), ("secondary", "primary")):
        router = routed_spec.router_address("site-a" if role == "primary" else "site-b")
        hops = re.search(r"routed, (\d+) hops \(tracepath\)", path[role]["detail"])
        assert hops and int(hops.group(1)) >= 2, path[role]
        assert f"via {router}" in path[role]["detail"]
        assert f"in none of {role}'s subnets ({routed_spec.site(role)})" in path[role]["detail"]
        assert path[role]["status"] == "warn" and "not declared trusted" in path[role]["detail"]
        assert "neither encrypted nor authenticated" in path[role]["fix"]
        assert rtt[role]["status"] == "pass", rtt[role]
        assert re.search(r"round trip [\d.]+/[\d.]+/[\d.]+ ms .* 0% loss of 10",
                         rtt[role]["detail"]) and "max-response-delay 15 s" in rtt[role]["detail"]
        assert mtu[role]["status"] == "pass" and "path MTU 1500 (tracepath)" in mtu[role]["detail"]
    assert "WARN  path [primary]" not in proc.stdout    # --json: nothing but the JSON


def test_ports_reachable_from_the_client_segment_fail_and_check_says_so(checked, routed_spec):
    proc, report, session = checked
    client = [c for c in report["checks"] if c["id"] == "exposure"
              and c["host"] == f"lab client {routed_spec.netns('client')}"]
    assert len(client) == 4 and all(c["status"] == "fail" for c in client), client
    omapi = [c for c in client if " OMAPI " in c["detail"]]
    assert {c["detail"].split(" -> ")[1].split(":")[0] for c in omapi} == {
        f"primary OMAPI {routed_spec.address('primary')}",
        f"secondary OMAPI {routed_spec.address('secondary')}"}
    assert all("refused (the host answered with a reset" in c["detail"] for c in omapi)
    assert all("dhcp-wizard protect firewall --answers" in c["fix"] for c in client)
    # Nothing else fails; the registry lets a deployment go past it (who reaches the ports
    # is the firewall's), so check's verdict, which is the deployment's, stays OK.
    assert proc.returncode == 0 and report["ok"] is True
    assert {c["id"] for c in report["checks"] if c["status"] == "fail"} == {"exposure"}
    assert report["needs_acceptance"] == ["ntp"]
    # The relay probed too, from its own address toward the sites.
    relay = [c for c in report["checks"] if c["id"] == "exposure"
             and c["host"] == f"relay {routed_spec.address('router')}"]
    assert len(relay) == 4 and all(c["status"] == "warn" for c in relay)
    # Every probe is in the evidence: who probed what, and what came of it.
    probes = [e["data"] for e in read_events(session) if e["step"] == "exposure"]
    assert {(p["vantage_kind"], p["outcome"]) for p in probes} == {
        ("admin", "refused"), ("relay", "refused"), ("client", "refused")}
    assert len(probes) == 12
    measured = [e for e in read_events(session) if e["step"] == "path"]
    assert {e["host"] for e in measured} == {"primary", "secondary"}
    assert all(e["data"]["tool"] == "tracepath" and e["data"]["hops"] == 2 for e in measured)


def test_declared_trusted_sites_raise_no_warning(routed_lab, routed_spec, tmp_path):
    text = routed_spec.answers_path.read_text()
    sites = [str(routed_spec.site(r)) for r in ("primary", "secondary")]
    assert "[protect]\n" in text and "\ntrusted = []\n" in text
    path = tmp_path / "trusted.toml"
    path.write_text(text.replace("\ntrusted = []\n", f"\ntrusted = {json.dumps(sites)}\n"))
    _, report = check_json(path, tmp_path / "s")
    for role, c in of(report, "path").items():
        assert c["status"] == "pass" and "every address on the path is in [protect] trusted" \
            in c["detail"], c


def test_accepted_refused_and_timed_out_from_the_client_segment(routed_lab, routed_spec,
                                                                tmp_path):
    """A listener on the primary's OMAPI port (accepted: fail), the router dropping the
    client segment's packets to the secondary's (timed out: filtered, pass)."""
    port = 7911
    listener = subprocess.Popen(ns.host_command(routed_spec, "primary", [
        "/usr/bin/python3", "-c", "import socket,time; s=socket.socket(); s.setsockopt(socket."
        f"SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(('0.0.0.0', {port})); s.listen(8); "
        "print('up', flush=True); time.sleep(60)"]), stdout=subprocess.PIPE, text=True)
    rule = (f"table ip dhwtest {{\n chain f {{\n type filter hook forward priority 0;\n"
            f" iifname \"clients\" ip daddr {routed_spec.address('secondary')} tcp dport {port}"
            " drop\n }\n}\n")
    router = ns.host_command(routed_spec, "router", ["nft", "-f", "-"])
    before = client_network(routed_spec)
    try:
        assert listener.stdout.readline().strip() == "up"
        ns.run(router, input=rule)
        _, report = check_json(routed_spec.answers_path, tmp_path / "s")
    finally:
        ns.run(ns.host_command(routed_spec, "router", ["nft", "delete", "table", "ip",
                                                       "dhwtest"]), check=False)
        listener.kill()
        listener.wait()
    client = {c["detail"].split(" -> ")[1].split(":")[0]: c for c in report["checks"]
              if c["id"] == "exposure" and c["host"].startswith("lab client")}
    pri = client[f"primary OMAPI {routed_spec.address('primary')}"]
    sec = client[f"secondary OMAPI {routed_spec.address('secondary')}"]
    assert pri["status"] == "fail" and "accepted (something listens" in pri["detail"]
    assert "shut the service down" in pri["detail"]
    assert sec["status"] == "pass" and "timed out (dropped on the way: filtered)" in sec["detail"]
    # This host still reaches both (the drop is for the client segment alone).
    admin = [c for c in report["checks"] if c["id"] == "exposure" and c["host"] == "this host"
             and " OMAPI " in c["detail"]]
    assert all(c["status"] == "pass" for c in admin)
    # The probe address the client used is gone again, and the route through it.
    assert client_network(routed_spec) == before
