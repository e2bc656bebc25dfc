"""What a subnet or pool copied to the secondary carries with it that only the primary may
declare: options and option spaces the primary defines itself, and hosts (global in dhcpd, so
one the secondary already has is declared twice). dhcpd refuses the copy then ("unknown
option", "no option space named", "host X: already exists"); the wizard neither invents the
definition nor drops the statement, it says where the copy would break and what to do.
"""

from __future__ import annotations

import re

from wizard.conf import tokens
from wizard.conf.model import Config, Where, _at, anchor_rank
from wizard.conf.tree import Block, Opaque, Run, Stmt

# Where an option (or a space) is named: in a statement, an expression, or an executable
# statement that sets one without the word `option` (`supersede foo "x";`, dhcpd's
# parse_executable_statement).
_NAMED = re.compile(r'\b(option|exists|config-option|supersede|default|prepend|append'
                    r'|vendor-option-space)\s+"?([A-Za-z0-9_.-]+)', re.I)
_BLANK = re.compile(rf"{tokens.STRING}|{tokens.COMMENT}", re.S)
# A host's `group NAME;`: the named group whose statements it takes (dhcpd: unknown group).
_GROUP_OF_HOST = re.compile(rf'(?:^|[;{{}}])\s*group\s+({tokens.STRING}|[^\s;{{}}"]+)\s*;',
                            re.I)
_KINDS = {"option": "an option", "space": "an option space", "group": "a named group"}
_COMMENT = re.compile(rf"({tokens.STRING})|{tokens.COMMENT}", re.S)


def definitions(config: Config) -> tuple[dict[str, tuple[str, str]], set[str]]:
    """(options, option spaces) that the config's files define, in lower case: dhcpd's
    option and space names ignore case. Each option maps to its definition (`code N = TYPE`,
    as words in lower case) and where it is."""
    options, spaces, _ = _definitions(config)
    return {name: (spec, where) for name, (spec, where) in options.items()}, set(spaces)


def _definitions(config: Config):
    """definitions(), and where each option, space and named group is read, keyed by
    (kind, name): (the rank of the main file's top-level statement it is under, its
    document, its line). dhcpd takes option definitions at the top level only (of the main
    file or of a file included there), and knows each declaration from that point of its
    reading on."""
    ranks = {id(config.main): None}
    for rank, node in enumerate(config.main.children):
        doc = config.included.get(id(node)) if type(node) is Stmt else None
        stack = [doc] if doc is not None else []
        while stack:  # files included at the top of an included file: the same rank
            inc = stack.pop()
            ranks.setdefault(id(inc), rank)
            stack.extend(d for n in inc.children if type(n) is Stmt
                         and (d := config.included.get(id(n))) is not None)
    options, spaces, places = {}, {}, {}
    rank = anchor_rank(config)
    for group in config.groups:
        name = group.node.arg(1) if len(group.node.words) > 1 else None
        if name:  # a named group, which a host may take with `group NAME;`
            places.setdefault(("group", name), (rank(group), group.doc, group.node.line))
    for doc in config.docs:
        doc_rank = ranks.get(id(doc), -1)
        for index, node in enumerate(doc.children):
            if type(node) is Run or not node.says("option"):
                continue
            place = (index if doc_rank is None else doc_rank, doc, node.line)
            w = [x.lower() for x in node.words]
            if len(w) >= 3 and w[1] == "space":
                name = tokens.unquote(w[2])
                spaces.setdefault(name, f"{doc.path}:{node.line}")
                places.setdefault(("space", name), place)
            elif len(w) >= 4 and w[2] == "code":
                options[w[1]] = (" ".join(w[2:]), f"{doc.path}:{node.line}")
                places.setdefault(("option", w[1]), place)
    return options, spaces, places


def defined_after(place: tuple, landing: tuple[int, Where | None]) -> bool:
    """Whether a declaration read at place (the rank of the main file's top-level statement
    it is under, its document, its line) comes after where copies land (that rank, and the
    holder they go in, if any): dhcpd knows it only from there on, so the copies could not
    name it."""
    rank, doc, line = place
    at_rank, holder = landing
    if rank != at_rank:
        return rank > at_rank
    # Under the same top-level statement: an included file read before the holder's own
    # lines, or the holder's file itself further up, or the holder itself above where the
    # copies go (a class declared in the subnet, above its pools, is a common layout).
    if holder is None or doc is not holder.doc:
        return True
    return line > holder.node.line and line >= _landing_line(holder.node)


def _landing_line(block: Block) -> int:
    """The line where copies go in block: that of its first pool or range (they take its
    place), else its closing brace's (they go at its end)."""
    firsts = [n.line for n in block.children
              if type(n) is Block and n.keyword == "pool" or type(n) is Stmt and n.says("range")]
    if firsts:
        return min(firsts)
    out: list[str] = []
    block.emit(out)
    return block.line + "".join(out)[len(block.pre):].count("\n")


class Needs:
    """What the secondary lacks, found once per plan (a stale secondary may lack thousands of
    the primary's subnets, each checked with check())."""

    def __init__(self, primary: Config, secondary: Config):
        self.primary, self.secondary = primary, secondary
        self._known: tuple[dict[str, str], set[str], set[str]] | None = None
        self._places: dict = {}
        self._groups: set[str] = set()
        self._primary_groups = False

    def lacking(self) -> tuple[dict[str, str], dict[str, str], set[str]]:
        """(option -> what is wrong with it on the secondary, option space the secondary
        lacks -> why, the secondary's host names)."""
        if self._known is None:
            p_options, p_spaces = definitions(self.primary)
            s_options, s_spaces, self._places = _definitions(self.secondary)
            self._groups = {name for kind, name in self._places if kind == "group"}
            # A host can name only a group its own server declares.
            self._primary_groups = any(len(g.node.words) > 1 for g in self.primary.groups)
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
            self._known = (options, dict.fromkeys(p_spaces - set(s_spaces),
                                                  "which only the primary defines"),
                           {name for name, _ in self.secondary.hosts})
        return self._known

    def check(self, copied: list[Where], landing: tuple[int, Where | None] | None = None
              ) -> None:
        """Raise a located InputError where a copied node needs what the secondary lacks.
        landing: where the copies go in the secondary (the rank of the main file's top-level
        statement they land under, and the holder they land in, if any); a definition the
        secondary reads only further down is lacking there too (dhcpd: unknown option)."""
        self._includes(copied)
        options, spaces, hosts = self.lacking()
        groups = self._groups
        later: dict[tuple[str, str], str] = {}
        if landing is not None and self._places:
            later = self._later(landing)
            options = {**{n: why for (kind, n), why in later.items() if kind == "option"},
                       **options}
            spaces = {**{n: why for (kind, n), why in later.items() if kind == "space"},
                      **spaces}
        if not (options or spaces or hosts or self._primary_groups):
            return  # nothing a copy could lack (walking the copies parses them all)
        _check(copied, options, spaces, hosts,
               lambda name: later.get(("group", name)) if name in groups else
               "which the secondary does not declare")

    def _later(self, landing) -> dict[tuple[str, str], str]:
        """(kind, name) -> why, for each definition the secondary reads after landing."""
        return {(kind, name): f"which the secondary defines only further down "
                f"({place[1].path}:{place[2]}), and dhcpd knows {_KINDS[kind]} only from "
                "its declaration on"
                for (kind, name), place in self._places.items()
                if defined_after(place, landing)}

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


def _check(copied: list[Where], options: dict[str, str], spaces: dict[str, str],
           hosts: set[str], group_problem) -> None:
    """group_problem(name): why the secondary cannot give a copied host named group `name`
    where the host lands, or None."""
    for where in copied:
        for node in _nodes(where.node):
            here = Where(where.doc, node, where.node, where.anchor)
            if type(node) is Opaque or (isinstance(node, Block) and node.keyword == "host"):
                _check_host_group(here, group_problem)
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
                        what, why = f"option space {space}", spaces[space.lower()]
                    else:
                        what, why = f"option {written}", options[written.lower()]
                    raise _at(here, "this statement of the primary, which the secondary must "
                              f"get too, uses {what}, {why}",
                              f"define {what} on the secondary as on the primary, above the "
                              "declarations that use it, then plan again")


def _nodes(top: Stmt):
    """top and every statement inside it, depth first (no recursion: groups nest deep)."""
    stack = [top]
    while stack:
        node = stack.pop()
        yield node
        if isinstance(node, Block):
            stack.extend(reversed(node.children))


def _check_host_group(here: Where, group_problem) -> None:
    node = here.node
    body = node.body if type(node) is Opaque else "".join(
        c.head + ";" for c in node.children if type(c) is Stmt)
    for m in _GROUP_OF_HOST.finditer(_COMMENT.sub(lambda c: c.group(1) or " ", body)):
        name = tokens.unquote(m.group(1))
        why = group_problem(name)
        if why is not None:
            raise _at(here, f"host {node.arg(1) or ''}, which the secondary must get from the "
                      f"primary, takes the statements of group \"{name}\", {why} (dhcpd: "
                      "unknown group)",
                      f"declare group \"{name}\" on the secondary as on the primary, above the "
                      "declarations that use it, then plan again", 1)
