"""The built-in local lab: two real ISC dhcpd servers and a DHCP client, in network namespaces.

Public entry points: up(), down(), status(), lease(), host_command().
"""

from wizard.lab.spec import LabSpec, LabError  # noqa: F401
from wizard.lab.lifecycle import up, down, status  # noqa: F401
from wizard.lab.client import lease, LeaseResult  # noqa: F401
from wizard.lab.namespaces import host_command  # noqa: F401
