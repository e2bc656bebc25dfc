"""`dhcp-wizard` without a command: the interactive wizard."""

from wizard.errors import NotAvailable


def run(args) -> int:
    raise NotAvailable("the interactive wizard is not available yet in this version",
                       "use the headless commands; see `dhcp-wizard --help`")
