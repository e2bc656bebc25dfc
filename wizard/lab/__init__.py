"""The built-in local lab: two real ISC dhcpd servers and a DHCP client, in network namespaces.

Entry points: wizard.lab.lifecycle (up, down, status), wizard.lab.client (lease),
wizard.lab.namespaces (host_command), wizard.lab.probe (the drill's lab client). Nothing is
imported here, so using one part never loads the rest. The core (wizard/ but lab/, commands/
and cli.py) never imports the lab; the front ends plug it in (wizard.lab.probe.register).
"""
