"""`dhcp-wizard drill`: the live failover test on a pair that already runs failover."""

from __future__ import annotations

from wizard.commands.deploy import run_recorded


def run(args) -> int:
    return run_recorded(args, "drill", lambda d, say: _drill(d, say, args))


def _drill(d, say, args) -> int:
    say.step("Reading both servers")
    d.inspect()
    plan = d.plan()  # the OMAPI key in use comes from the live configs
    if plan.changed:
        print("  note: the live configs differ from what these answers would deploy; "
              "drilling the pair as it runs")
    say.step("Steps 9-10: failover test and back in operation")
    result = d.drill(roles=args.roles)
    print(f"\n{'PASSED' if result.passed else 'FAILED'}: {result.summary}")
    return 0 if result.passed else 1
