"""dhcpd configs read over SSH, for the conf engine (wizard.conf) and `plan` without --from.

RemoteLoader is the conf engine's Loader for one host: `read(path)` cats the file over that
host's open connection (through sudo where configured), so includes are followed on the host
they live on.
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass

from wizard.conf.loader import Loader
from wizard.errors import OperationFailed


class RemoteLoader(Loader):
    def __init__(self, conn, cache: dict[str, str] | None = None):
        self.conn = conn
        self.cache = {} if cache is None else cache

    def read(self, path: str) -> str:
        if path not in self.cache:
            self.cache[path] = self.conn.read_file(path)
        return self.cache[path]

    def resolve(self, path: str, including: str | None = None) -> str:
        # dhcpd opens a relative include from its working directory, which is / for a
        # service started by systemd, SysV init or FreeBSD rc.
        return posixpath.normpath(posixpath.join("/", path))


@dataclass
class LiveConfig:
    role: str
    path: str               # the main config file in use on that host
    source: str             # how the path was found ("running dhcpd (pid 812) -cf", ...)
    loader: RemoteLoader


def read_live_configs(answers, pair=None, session=None) -> tuple[LiveConfig, LiveConfig]:
    """Both peers' config paths and loaders. The path is answers.<role>.config when given,
    else what the host's facts say dhcpd uses.

    Pass an open wizard.ssh.Pair to reuse its connections (the caller closes it); without one
    a Pair is opened here and stays open as long as the loaders are used.
    Raises OperationFailed naming the host when one cannot be reached.
    """
    from wizard.facts import gather
    from wizard.ssh import Pair

    if pair is None:
        pair = Pair(answers, session=session).open()
    out = []
    for role in ("primary", "secondary"):
        conn = pair.conn(role)
        if conn is None:
            err = pair.errors[role]
            raise OperationFailed(f"{role}: {getattr(err, 'message', err)}",
                                  getattr(err, "hint", None))
        configured = answers.host(role).config
        if configured:
            path, source = configured, f"answers {role}.config"
        else:
            facts = gather(conn)
            if not facts.config.value:
                raise OperationFailed(f"{role}: cannot tell which dhcpd config file is in use",
                                      f"set {role}.config in the answers file")
            path, source = facts.config.value, facts.config.source
        out.append(LiveConfig(role, path, source, RemoteLoader(conn)))
    return out[0], out[1]
