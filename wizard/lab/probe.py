"""The lab's client namespace as the drill's probe: a real dhclient asks for a lease.

register() plugs it into wizard.ops.lease_probe as the "lab:NAME" kind, and the client segment
into wizard.checks.vantage as a vantage point of the exposure check (and of
`protect firewall`'s verification, wizard.ops.firewall_apply); the front ends call it,
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
    # The client segment is also where the exposure check probes the ports from, and where
    # `protect firewall` verifies its rules from.
    add_vantage()
    from wizard.ops.firewall_apply import register_vantage

    register_vantage("lab", LabVantage)


class LabVantage:
    """The lab's client segment as a vantage point of `protect firewall`'s verification: a
    probe address borrowed for the moment (below the pool, used by nothing), so the probe
    needs no lease and leaves the client as it found it."""

    def __init__(self, lab_name: str):
        from wizard.lab.lifecycle import existing_spec

        self.spec = existing_spec(lab_name)

    def describe(self) -> str:
        return f"the lab's client segment ({self.spec.netns('client')})"

    @property
    def address(self) -> str:
        return str(self.spec.served_network.network_address + 5)

    def tcp_many(self, targets: list[tuple[str, int]], timeout: float = 1.5) -> list[str]:
        """One outcome per (address, port), probed side by side from one borrowed address."""
        import subprocess

        from wizard.lab.namespaces import host_command

        net = self.spec.served_network
        py = ("import socket,sys,threading\nt=float(sys.argv[1]);a=sys.argv[2:]\n"
              "r=['error']*(len(a)//2)\n"
              "def one(i):\n s=socket.socket();s.settimeout(t)\n try:\n"
              "  s.connect((a[2*i],int(a[2*i+1])));r[i]='open'\n"
              " except socket.timeout:r[i]='timeout'\n"
              " except ConnectionRefusedError:r[i]='refused'\n"
              " except OSError as e:r[i]='rejected' if e.errno==113 else 'error'\n"
              "th=[threading.Thread(target=one,args=(i,)) for i in range(len(r))]\n"
              "[x.start() for x in th];[x.join() for x in th];print(' '.join(r))\n")
        args = " ".join(f"{a} {p}" for a, p in targets)
        me = f"{self.address}/{net.prefixlen}"
        script = (f"ip addr add {me} dev eth0 || exit 1; added_route=; "
                  f"if ! ip route show default | grep -q .; then "
                  f"ip route add default via {self.spec.client_gateway} && added_route=1; fi; "
                  f"python3 -c \"$PY\" {timeout} {args}; "
                  f"[ -n \"$added_route\" ] && ip route del default; ip addr del {me} dev eth0")
        proc = subprocess.run(host_command(self.spec, "client", ["sh", "-c", script]),
                              capture_output=True, text=True, timeout=timeout + 10,
                              env={"PY": py, "PATH": "/usr/sbin:/usr/bin:/sbin:/bin"})
        words = proc.stdout.split()
        return words if len(words) == len(targets) else ["error"] * len(targets)

    def tcp(self, address: str, port: int, timeout: float = 1.5) -> str:
        return self.tcp_many([(address, port)], timeout)[0]
