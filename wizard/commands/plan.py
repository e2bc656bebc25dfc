"""`dhcp-wizard plan`."""

from wizard.errors import NotAvailable


def run(args) -> int:
    raise NotAvailable("`dhcp-wizard plan` is not available yet in this version",
                       "it is being built (issue 3); nothing was changed")
