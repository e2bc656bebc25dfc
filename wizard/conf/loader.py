"""Where config text comes from. Local files now; the SSH layer adds a RemoteLoader."""

from __future__ import annotations

import os
from abc import ABC, abstractmethod


class Loader(ABC):
    @abstractmethod
    def read(self, path: str) -> str:
        """The text of path; raise OSError when it cannot be read."""

    def resolve(self, path: str, including: str | None = None,
                main: str | None = None) -> str:
        """The path an `include` names, as this loader should read it (including: the
        file the statement is in; main: the config's main file)."""
        return path


def decode(raw: bytes) -> str:
    # surrogateescape lets a Latin-1 comment survive the round trip byte for byte.
    return raw.decode("utf-8", "surrogateescape")


def encode(text: str) -> bytes:
    return text.encode("utf-8", "surrogateescape")


class LocalLoader(Loader):
    def read(self, path: str) -> str:
        with open(path, "rb") as fh:
            return decode(fh.read())

    def resolve(self, path: str, including: str | None = None,
                main: str | None = None) -> str:
        # dhcpd opens a relative include from its working directory, and `dhcpd -t -cf` is
        # run from the main file's: an include nested in a subdirectory names its path from
        # there. Offline copies often sit together in one folder instead, so beside the
        # including file is where a path found nowhere else is looked up.
        if not including or os.path.isabs(path):
            return path
        beside = os.path.join(os.path.dirname(including), path)
        if main and main != including:
            from_main = os.path.join(os.path.dirname(main), path)
            if from_main != beside and os.path.exists(from_main):
                return from_main
        return beside


class MemoryLoader(Loader):
    """Texts already in hand (edited, or fetched), in front of another loader."""

    def __init__(self, texts: dict[str, str], inner: Loader | None = None):
        self.texts = texts
        self.inner = inner or LocalLoader()

    def read(self, path: str) -> str:
        if path in self.texts:
            return self.texts[path]
        return self.inner.read(path)

    def resolve(self, path: str, including: str | None = None,
                main: str | None = None) -> str:
        return self.inner.resolve(path, including, main)
