"""`dhcp-wizard lab up | down | status | lease | probe`."""

from __future__ import annotations

import json
import sys

from wizard.lab.client import lease
from wizard.lab import lifecycle
from wizard.lab.spec import DEFAULT_NAME, LabSpec


def run(args) -> int:
    name = args.name or DEFAULT_NAME
    say = lambda msg: print(msg, file=sys.stderr)  # noqa: E731 - progress on stderr, data on stdout
    if args.lab_command == "up":
        spec = LabSpec(name=name, subnet=args.subnet) if args.subnet else lifecycle.existing_spec(name)
        st = lifecycle.up(spec, skew_secondary=args.skew_secondary, progress=say)
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
    if args.lab_command == "probe":
        return _probe(spec, args)
    raise AssertionError(args.lab_command)


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
    print(f"lab {st['name']}: {'healthy' if st['healthy'] else 'UNHEALTHY'}, segment "
          f"{st['subnet']}, this host {st['bridge']['address']}", file=stream)
    for role, h in st["hosts"].items():
        daemons = ", ".join(f"{d} {'up' if v['running'] else 'DOWN'}" for d, v in h["daemons"].items())
        skew = f", clock {h['skew_seconds']:+g} s" if h["skew_seconds"] else ""
        print(f"  {role:<9} {h['ssh']:<22} {daemons}{skew}", file=stream)
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
