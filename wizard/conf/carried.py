"""What a subnet or pool copied to the secondary carries with it that only the primary may
declare: options and option spaces the primary defines itself, and hosts (global in dhcpd, so
one the secondary already has is declared twice). dhcpd refuses the copy then ("unknown
option", "no option space named", "host X: already exists"); the wizard neither invents the
definition nor drops the statement, it says where the copy would break and what to do.
"""

from __future__ import annotations

import re

from wizard.conf import tokens
from wizard.conf.model import Config, Where, _at
from wizard.conf.tree import Block, Opaque, Run, Stmt

# Where an option (or a space) is named: in a statement or an expression.
_NAMED = re.compile(r'\b(option|exists|vendor-option-space)\s+"?([A-Za-z0-9_.-]+)', re.I)
_BLANK = re.compile(rf"{tokens.STRING}|{tokens.COMMENT}", re.S)


def definitions(config: Config) -> tuple[dict[str, tuple[str, str]], set[str]]:
    """(options, option spaces) that the config's files define, in lower case: dhcpd's
    option and space names ignore case. Each option maps to its definition (`code N = TYPE`,
    as words in lower case) and where it is."""
    options, spaces = {}, set()
    for doc in config.docs:
        for node in doc.children:
            if type(node) is Run or not node.says("option"):
                continue
            w = [x.lower() for x in node.words]
            if len(w) >= 3 and w[1] == "space":
                spaces.add(tokens.unquote(w[2]))
            elif len(w) >= 4 and w[2] == "code":
                options[w[1]] = (" ".join(w[2:]), f"{doc.path}:{node.line}")
    return options, spaces


class Needs:
    """What the secondary lacks, found once per plan (a stale secondary may lack thousands of
    the primary's subnets, each checked with check())."""

    def __init__(self, primary: Config, secondary: Config):
        self.primary, self.secondary = primary, secondary
        self._known: tuple[dict[str, str], set[str], set[str]] | None = None

    def lacking(self) -> tuple[dict[str, str], set[str], set[str]]:
        """(option -> what is wrong with it on the secondary, option spaces the secondary
        lacks, the secondary's host names)."""
        if self._known is None:
            p_options, p_spaces = definitions(self.primary)
            s_options, s_spaces = definitions(self.secondary)
            options = {}
            for name, (spec, _) in p_options.items():
                theirs = s_options.get(name)
                if theirs is None:
                    options[name] = "which only the primary defines"
                elif theirs[0].replace(" ", "") != spec.replace(" ", ""):
                    # The same name for other data: the copied value is read with the
                    # secondary's definition, which refuses it (or means something else).
                    options[name] = (f"which the primary defines as `{spec}` and the secondary "
                                     f"as `{theirs[0]}` ({theirs[1]})")
            self._known = (options, p_spaces - s_spaces,
                           {name for name, _ in self.secondary.hosts})
        return self._known

    def check(self, copied: list[Where]) -> None:
        """Raise a located InputError where a copied node needs what the secondary lacks."""
        self._includes(copied)
        _check(copied, *self.lacking())

    def _includes(self, copied: list[Where]) -> None:
        """An include inside what is copied names a file on the primary. Copied as it is,
        the secondary would read that path on its own disk, where nothing says the file
        exists (the local checks read the primary's copy and pass): refused unless the
        secondary's config already includes that very file."""
        own = {d.path for d in self.secondary.docs}
        for where in copied:
            for node in _nodes(where.node):
                if type(node) is not Stmt or not node.says("include"):
                    continue
                named = node.arg(1) or ""
                target = self.primary.resolved.get(where.doc.path, {}).get(named, named)
                if target in own:
                    continue
                here = Where(where.doc, node, where.node, where.anchor)
                raise _at(here, f"this include, which the secondary must get with the rest "
                          f"of the primary's declaration, names {target}, a file the "
                          "secondary's config does not include: the secondary would look for "
                          "it on its own disk",
                          f"copy {target} to the secondary at the same path and include it "
                          "there, or write its statements in place of the include, then plan "
                          "again")


def _check(copied: list[Where], options: dict[str, str], spaces: set[str],
           hosts: set[str]) -> None:
    if not (options or spaces or hosts):
        return
    for where in copied:
        for node in _nodes(where.node):
            here = Where(where.doc, node, where.node, where.anchor)
            if type(node) is Opaque or (isinstance(node, Block) and node.keyword == "host"):
                name = node.arg(1) or ""
                if name in hosts:
                    raise _at(here, f"host {name} is declared in what the secondary must get "
                              "from the primary, and the secondary already declares a host "
                              "of that name (dhcpd: already exists)",
                              f"declare host {name} in the same place on both servers (or "
                              "remove one of the two), then plan again", 1)
            text = node.head + (node.body if type(node) is Opaque else "")
            for m in _NAMED.finditer(_BLANK.sub(" ", text)):
                written = m.group(2)
                space = written if m.group(1).lower() == "vendor-option-space" else \
                    written.split(".", 1)[0] if "." in written else None
                if written.lower() in options or (space or "").lower() in spaces:
                    if (space or "").lower() in spaces:
                        what, why = f"option space {space}", "which only the primary defines"
                    else:
                        what, why = f"option {written}", options[written.lower()]
                    raise _at(here, "this statement of the primary, which the secondary must "
                              f"get too, uses {what}, {why}",
                              f"define {what} on the secondary as on the primary, then plan "
                              "again")


def _nodes(top: Stmt):
    """top and every statement inside it, depth first (no recursion: groups nest deep)."""
    stack = [top]
    while stack:
        node = stack.pop()
        yield node
        if isinstance(node, Block):
            stack.extend(reversed(node.children))
