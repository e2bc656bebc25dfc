"""The lab's client namespace as the drill's probe: a real dhclient asks for a lease.

register() plugs it into wizard.ops.lease_probe as the "lab:NAME" kind, and the client segment
into wizard.checks.vantage as a vantage point of the exposure check; the front ends call it,
so the core never imports the lab.
"""

from __future__ import annotations


class LabProbe:
    def __init__(self, lab_name: str):
        from wizard.lab.lifecycle import existing_spec

        self.spec = existing_spec(lab_name)

    def describe(self) -> str:
        return f"dhclient in the lab's client namespace {self.spec.netns('client')}"

    def obtain(self, timeout: float) -> dict:
        from wizard.lab.client import lease

        # No DHCPRELEASE: a release reaching the survivor while its partner is shut down is
        # a change the returning peer must pass back, and that makes it wait out MCLT in
        # recover-wait (docs/dhcpd-behaviour.md). The lease expires by itself.
        return lease(self.spec, timeout=timeout, new_client=True, release=False).as_dict()


def register() -> None:
    from wizard.lab.vantage import register as add_vantage
    from wizard.ops.lease_probe import register as add_kind

    add_kind("lab", LabProbe)
    # The client segment is also where the exposure check probes the ports from.
    add_vantage()
