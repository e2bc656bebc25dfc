"""`dhcp-wizard drill`: the live failover test on a pair that already runs failover."""

from __future__ import annotations

from wizard.answers import load_answers
from wizard.commands.deploy import Printer, passphrase_prompt
from wizard.session import Session


def run(args) -> int:
    from wizard.deploy import Deployment

    answers = load_answers(args.answers)
    say = Printer()
    session = Session.create(args.session, command="drill")
    code = 1
    try:
        with Deployment(answers, session, progress=say, passphrase=passphrase_prompt()) as d:
            say.step("Reading both servers")
            d.inspect()
            plan = d.plan()  # the OMAPI key in use comes from the live configs
            if plan.changed:
                print("  note: the live configs differ from what these answers would deploy; "
                      "drilling the pair as it runs")
            say.step("Steps 9-10: failover test and back in operation")
            result = d.drill()
            print(f"\n{'PASSED' if result.passed else 'FAILED'}: {result.summary}")
            code = 0 if result.passed else 1
    finally:
        session.close("done" if code == 0 else "failed", exit_code=code)
        print(f"session recorded in {session.path}")
    return code
