"""`dhcp-wizard lab up | down | status | lease | relay | probe`."""

from __future__ import annotations

import json
import sys
from dataclasses import replace

from wizard.lab.client import lease
from wizard.lab import lifecycle
from wizard.lab.spec import DEFAULT_NAME, LabSpec


def run(args) -> int:
    name = args.name or DEFAULT_NAME
    say = lambda msg: print(msg, file=sys.stderr)  # noqa: E731 - progress on stderr, data on stdout
    if args.lab_command == "up":
        st = lifecycle.up(_up_spec(name, args), skew_secondary=args.skew_secondary, progress=say)
        _print_summary(st)
        print(st["answers"])
        return 0
    spec = lifecycle.existing_spec(name)
    if args.lab_command == "down":
        lifecycle.down(spec, progress=say)
        return 0
    if args.lab_command == "status":
        st = lifecycle.status(spec)
        if args.json:
            print(json.dumps(st, indent=2))
        else:
            _print_summary(st, stream=sys.stdout)
        return 0 if st["healthy"] or not st["up"] else 1
    if args.lab_command == "lease":
        got = lease(spec, timeout=args.timeout, new_client=args.new_client)
        if args.json:
            print(json.dumps(got.as_dict()))
        else:
            print(f"lease {got.address} from {got.server} for {got.lease_time} s "
                  f"(client {got.mac}, {got.elapsed:.2f} s)")
        return 0
    if args.lab_command == "relay":
        return _relay(spec, args)
    if args.lab_command == "probe":
        return _probe(spec, args)
    raise AssertionError(args.lab_command)


def _up_spec(name: str, args) -> LabSpec:
    """The lab asked for: what is given on the command line, the rest as the lab that is up
    has it (so a plain `lab up` keeps it), or the defaults for a new one."""
    given = {"subnet": args.subnet, "topology": args.topology,
             "flavor_primary": args.flavor_primary, "flavor_secondary": args.flavor_secondary,
             "root_login": False if args.no_root_login else None,
             "firewall_primary": args.firewall_primary,
             "firewall_secondary": args.firewall_secondary}
    given = {k: v for k, v in given.items() if v is not None}
    if not given:
        return lifecycle.existing_spec(name)
    if "subnet" in given:
        return LabSpec(name=name, **given)
    return replace(lifecycle.existing_spec(name), **given)


def _relay(spec: LabSpec, args) -> int:
    from wizard.lab.relay import configured_servers, set_relay

    if args.only or args.both:
        set_relay(spec, (args.only,) if args.only else ("primary", "secondary"))
    elif not spec.routed:
        set_relay(spec, ())  # raises the "no relay in a flat lab" message
    servers = configured_servers(spec)
    names = {spec.address(r): r for r in ("primary", "secondary")}
    if args.json:
        print(json.dumps({"servers": servers, "forwards_to": [names.get(s, s) for s in servers]}))
    else:
        print("relay forwards the client segment to " + (", ".join(
            f"{names.get(s, '?')} {s}" for s in servers) or "no server"))
    return 0


def _probe(spec: LabSpec, args) -> int:
    """Exit 1 when any request went unanswered: the segment was without DHCP for a while."""
    from wizard.lab.continuity import probe

    t0: list[float] = []

    def show(req) -> None:
        if not t0:
            t0.append(req.t)
        print(req.line(t0[0], {spec.address(r): r for r in ("primary", "secondary")}),
              flush=True)

    report = probe(spec, args.every, args.duration, on_request=None if args.json else show)
    if args.json:
        print(json.dumps(report.as_dict(), indent=2))
    else:
        print(report.line())
    return 0 if report.requests and report.unanswered == 0 else 1


def _print_summary(st: dict, stream=sys.stderr) -> None:
    if not st["up"]:
        print(f"lab {st['name']}: down", file=stream)
        return
    where = f"segment {st['subnet']}" if st.get("topology", "flat") == "flat" else \
        f"routed {st['subnet']}"
    print(f"lab {st['name']}: {'healthy' if st['healthy'] else 'UNHEALTHY'}, {where}, "
          f"this host {st['bridge']['address']}", file=stream)
    for role, h in st["hosts"].items():
        daemons = ", ".join(f"{d} {'up' if v['running'] else 'DOWN'}" for d, v in h["daemons"].items())
        skew = f", clock {h['skew_seconds']:+g} s" if h["skew_seconds"] else ""
        flavor = f" [{h['flavor']}]" if h.get("flavor", "debian") != "debian" else ""
        print(f"  {role:<9} {h['ssh']:<24} {daemons}{skew}{flavor}", file=stream)
    router = st.get("router")
    if router:
        daemons = ", ".join(f"{d} {'up' if v['running'] else 'DOWN'}"
                            for d, v in router["daemons"].items())
        print(f"  router    {router['ssh']:<24} {daemons}", file=stream)
        relay = router.get("relay") or {}
        print(f"  relay     forwards {st['segments']['clients']} to "
              f"{', '.join(relay.get('forwards_to') or []) or 'no server'}", file=stream)
    print(f"  client    namespace {st['client']['netns']}", file=stream)
    fo = st.get("failover")
    if fo is None:
        print("  failover  none (the lab's baseline: two plain servers)", file=stream)
        return
    states = ", ".join(f"{r} {s['local']} (partner {s['partner']})" if "local" in s
                       else f"{r} unreadable" for r, s in fo["states"].items())
    print(f"  failover  \"{fo['relationship']}\": {states or 'not read'}", file=stream)
    for v in fo["verdicts"]:
        if v["status"] == "pass":
            continue
        print(f"  {v['status'].upper():<9} {v['detail']}", file=stream)
        if v["fix"]:
            print(f"            fix: {v['fix']}", file=stream)
