"""One peer's planned files as a tree on disk that holds together on its own.

The main file goes to `<dir>/<role>.conf`, each included file to
`<dir>/<role>-includes/<its path>`, and every include statement is pointed at the copy
written beside it (an absolute path: dhcpd opens a relative include from its working
directory). So `dhcpd -t -cf <dir>/<role>.conf`, `lint` and a new `plan --from` read the
planned files, not the originals on the server or the workstation.
"""

from __future__ import annotations

import os
from pathlib import Path

from wizard.conf.loader import Loader, encode
from wizard.conf.parser import parse
from wizard.conf.tokens import unescaped
from wizard.conf.tree import Block, Run


def locations(files, role: str, folder: Path) -> dict[str, Path]:
    """Original path -> where the tree keeps it, for the files of one role (main first)."""
    mine = [f for f in files if f.role == role]
    places = {mine[0].path: folder / f"{role}.conf"}
    for f in mine[1:]:
        places.setdefault(f.path, folder / f"{role}-includes" / f.path.lstrip("/"))
    return places


def texts(files, role: str, places: dict[str, Path], which: str = "after") -> dict[Path, str]:
    """What each file of the tree says: the planned (or, which="before", the current) text,
    with include statements pointed at the tree's copies."""
    out: dict[Path, str] = {}
    for f in files:
        if f.role != role:
            continue
        text = getattr(f, which)
        targets = {name: str(places[path].resolve()) for name, path in f.includes.items()
                   if path in places}
        out[places[f.path]] = repoint(text, targets, f.path) if targets else text
    return out


def repoint(text: str, targets: dict[str, str], path: str) -> str:
    """text with each `include "NAME";` whose NAME is in targets naming targets[NAME]."""
    doc = parse(text, path)
    stack = [doc.children]
    while stack:
        for node in stack.pop():
            if type(node) is Run:
                continue  # a run never holds an include (tokens.SIGNIFICANT)
            if isinstance(node, Block):
                stack.append(node.items)
            elif node.keyword == "include" and (node.arg(1) or "") in targets:
                node.set_head(f'include {_quoted(targets[node.arg(1)])}')
    return doc.render()


def _quoted(path: str) -> str:
    return '"' + path.replace("\\", "\\\\").replace('"', '\\"') + '"'


def write(tree: dict[Path, str]) -> list[Path]:
    """Write the tree, every file mode 0600 from its first byte (they hold the secret)."""
    written = []
    for target, text in tree.items():
        target.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(encode(text))
        os.chmod(target, 0o600)
        written.append(target)
    return written


class PlannedLoader(Loader):
    """The planned texts of one role, includes resolved as the plan resolved them."""

    def __init__(self, files, role: str, which: str = "after"):
        mine = [f for f in files if f.role == role]
        self.texts = {f.path: getattr(f, which) for f in mine}
        self.resolved = {(f.path, unescaped(name)): path for f in mine
                         for name, path in f.includes.items()}

    def read(self, path: str) -> str:
        try:
            return self.texts[path]
        except KeyError:
            raise FileNotFoundError(2, "not part of the plan", path) from None

    def resolve(self, path: str, including: str | None = None,
                main: str | None = None) -> str:
        return self.resolved.get((including, path), path)

