"""dhcpd configs read over SSH, for the conf engine (wizard.conf) and `plan` without --from.

RemoteLoader is the conf engine's Loader for one host: `read(path)` cats the file over that
host's open connection (through sudo where configured), so includes are followed on the host
they live on.
"""

from __future__ import annotations

import posixpath

from wizard.conf.loader import Loader


class RemoteLoader(Loader):
    def __init__(self, conn, cache: dict[str, str] | None = None):
        self.conn = conn
        self.cache = {} if cache is None else cache

    def read(self, path: str) -> str:
        if path not in self.cache:
            self.cache[path] = self.conn.read_file(path)
        return self.cache[path]

    def resolve(self, path: str, including: str | None = None,
                main: str | None = None) -> str:
        # dhcpd opens a relative include from its working directory, which is / for a
        # service started by systemd, SysV init or FreeBSD rc.
        return posixpath.normpath(posixpath.join("/", path))
