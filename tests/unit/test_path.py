"""The path check's parsers and judgements, on whole outputs of its script captured on the
lab (tests/data/path: the routed lab's two sites; a link of MTU 1200, a router that drops
echo requests and its time-exceeded replies, echo filtered altogether — each made on the
lab's router with nft or `ip link`; the flat lab's one segment)."""

from __future__ import annotations

from pathlib import Path

import pytest

from wizard.checks.path import (
    judge_mtu, judge_route, judge_rtt, hops_from_ttl, parse_ping, parse_report,
    parse_tracepath, parse_traceroute, sections, untrusted,
)

DATA = Path(__file__).parents[1] / "data" / "path"
PRIMARY, SECONDARY, ROUTER_A = "198.51.100.27", "198.51.100.44", "198.51.100.17"
SITES = ("198.51.100.16/28", "198.51.100.32/28")


def report(name: str, source=PRIMARY, peer=SECONDARY):
    return parse_report((DATA / name).read_text(), source, peer)


def test_tracepath_on_the_routed_lab_gives_two_hops_the_router_and_the_pmtu():
    r = report("routed-debian-to-rhel.txt")
    assert (r.trace.tool, r.trace.hops, r.trace.reached) == ("tracepath", 2, True)
    assert r.trace.routers == [ROUTER_A]
    assert (r.mtu, r.mtu_tool) == (1500, "tracepath")
    assert r.routed is True and r.on_link is None
    assert [str(n) for n in r.networks] == ["198.51.100.27/28"]
    assert (r.ping.sent, r.ping.received, r.ping.ttl) == (10, 10, 63)
    assert r.ping.rtt_min == 0.021 and r.ping.rtt_max == 0.134 and r.ping.loss == 0


def test_the_rhel_side_ends_its_last_line_without_a_newline_and_parses_alike():
    r = report("routed-rhel-to-debian.txt", SECONDARY, PRIMARY)
    assert (r.trace.hops, r.trace.routers, r.mtu) == (2, ["198.51.100.33"], 1500)


def test_a_narrow_link_on_the_way_shows_as_the_pmtu_and_in_the_df_probes():
    r = report("routed-mtu1200.txt")
    assert (r.mtu, r.mtu_tool) == (1200, "tracepath")
    df = sections((DATA / "routed-mtu1200.txt").read_text())["df"]
    assert "1172 ok" in df and "1252 no" in df          # 1200 passes, 1280 does not
    status, detail, fix = judge_mtu("primary", r)
    assert status == "warn" and "path MTU 1200 (tracepath), below 1280" in detail
    assert "fragmentation needed" in detail and "maxseg" in fix


def test_a_router_that_hides_itself_and_drops_echo_requests():
    r = report("routed-loss-silent-router.txt")
    assert (r.trace.hops, r.trace.routers) == (2, [])     # "1:  no reply"
    assert (r.ping.sent, r.ping.received) == (10, 7) and r.ping.loss == pytest.approx(30)
    assert r.ping.rtt_max == 0.101
    status, detail, fix = judge_rtt("primary", r, 15)
    assert status == "warn" and "30% loss of 10 (ping)" in detail and "mtr" in fix
    status, detail, _ = judge_route("primary", r, ())
    assert status == "warn" and "did not show themselves" in detail
    assert "routers it could not name" in detail


def test_echo_filtered_altogether_leaves_rtt_unknown_but_the_path_measured():
    r = report("routed-echo-filtered.txt")
    assert (r.ping.sent, r.ping.received) == (10, 0)
    assert r.trace.hops == 2                               # tracepath's UDP still got there
    assert r.mtu == 1500 and r.mtu_tool == "tracepath"    # DF pings all lost, tracepath knows
    status, detail, fix = judge_rtt("primary", r, 15)
    assert status == "warn" and "no reply to 10 pings" in detail and "ICMP echo" in fix


def test_traceroute_where_there_is_no_tracepath():
    r = report("routed-traceroute.txt")
    assert (r.trace.tool, r.trace.hops, r.trace.routers) == ("traceroute", 2, [ROUTER_A])
    assert (r.mtu, r.mtu_tool) == (1500, "ping -M do")    # the largest DF ping, +28


def test_ping_alone_counts_hops_by_ttl():
    r = report("routed-ping-only.txt")
    assert (r.trace.tool, r.trace.hops, r.trace.routers) == ("ping ttl", 2, [])
    status, detail, _ = judge_route("primary", r, ())
    assert status == "warn" and "2 hops (ping ttl)" in detail
    assert "counts the routers but does not name them" in detail


def test_flat_lab_is_one_segment():
    r = report("flat-one-segment.txt", "198.51.100.11", "198.51.100.12")
    assert r.trace.hops == 1 and r.trace.routers == [] and r.routed is False
    assert str(r.on_link.network) == "198.51.100.0/25"
    status, detail, _ = judge_route("primary", r, ())
    assert status == "pass" and "one segment, 1 hop (tracepath)" in detail
    assert "inside primary's subnet 198.51.100.0/25" in detail


@pytest.mark.parametrize("ttl, hops", [(64, 1), (63, 2), (57, 8), (128, 1), (120, 9),
                                       (255, 1), (250, 6)])
def test_hops_from_the_ttl_of_a_reply(ttl, hops):
    assert hops_from_ttl(ttl) == hops


def test_trust_covers_every_address_on_the_path_or_names_what_it_does_not():
    r = report("routed-debian-to-rhel.txt")
    assert untrusted(r, ()) == [PRIMARY, ROUTER_A, SECONDARY]
    assert untrusted(r, SITES) == []
    assert untrusted(r, ("198.51.100.16/28",)) == [SECONDARY]
    status, detail, fix = judge_route("primary", r, ())
    assert status == "warn" and f"routed, 2 hops (tracepath) via {ROUTER_A}" in detail
    assert "neither encrypted nor authenticated" in fix and "[protect] trusted" in fix
    status, detail, fix = judge_route("primary", r, SITES)
    assert status == "pass" and "in [protect] trusted" in detail and fix is None


def test_rtt_is_judged_against_max_response_delay():
    r = report("routed-debian-to-rhel.txt")
    status, detail, _ = judge_rtt("primary", r, 15)
    assert status == "pass" and "0.021/0.087/0.134 ms" in detail and "0% loss of 10" in detail
    slow = parse_ping("10 packets transmitted, 10 received, 0% packet loss, time 9s\n"
                      "rtt min/avg/max/mdev = 900.1/1500.2/2100.5/10.0 ms\n")
    r.ping = slow
    status, detail, fix = judge_rtt("primary", r, 15)
    assert status == "warn" and "14% of max-response-delay 15 s" in detail
    assert "max_response_delay" in fix


def test_a_ping_that_could_not_run_is_a_skip_with_its_words():
    p = parse_ping("ping: socket: Operation not permitted\n")
    assert (p.sent, p.error) == (0, "ping: socket: Operation not permitted")


def test_a_trace_that_never_reached_the_peer_counts_no_hops():
    t = parse_tracepath(" 1?: [LOCALHOST]    pmtu 1500\n 1:  no reply\n 2:  no reply\n"
                        "     Too many hops: pmtu 1500\n     Resume: pmtu 1500 \n", SECONDARY)
    assert (t.hops, t.reached, t.pmtu) == (None, False, 1500)
    t = parse_traceroute("traceroute to x (x), 16 hops max\n 1  198.51.100.17  0.1 ms\n"
                         " 2  *\n 3  *\n", SECONDARY)
    assert (t.hops, t.reached, t.routers) == (None, False, [ROUTER_A])
