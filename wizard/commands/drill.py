"""`dhcp-wizard drill`."""

from wizard.errors import NotAvailable


def run(args) -> int:
    raise NotAvailable("`dhcp-wizard drill` is not available yet in this version",
                       "it is being built (issue 5); nothing was changed")
