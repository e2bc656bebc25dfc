"""Minimal tree edits that keep the file's own layout: indentation, blank lines, comments.

New statements take the indentation of their neighbours; a statement inserted before another
goes above that one's comment, so the comment stays with what it describes.
"""

from __future__ import annotations

import re
from collections import Counter

from wizard.conf.parser import parse
from wizard.conf import tokens
from wizard.conf.tree import Block, Document, Opaque, Run, Stmt


def indent_unit(doc: Document, default: str = "    ") -> str:
    """The file's indentation step: a tab, or the most common run of spaces (else default)."""
    seen: Counter[str] = Counter()
    for block in doc.children[:400]:
        seen.update(_steps(block))
        if sum(seen.values()) >= 30:
            break
    if not seen:
        # Nothing indented right inside the top-level blocks: a wrapper whose contents are
        # written flush left (`group {` NEWLINE `subnet ... {`) shows the step one level down.
        for block in doc.children[:400]:
            if isinstance(block, Block):
                for child in block.children[:3]:
                    seen.update(_steps(child))
            if sum(seen.values()) >= 30:
                break
    if not seen:
        return default
    # What most_common(1) gives (the first of the most seen), without its import of heapq.
    unit = max(seen, key=seen.__getitem__)
    return "\t" if "\t" in unit else unit


def _steps(block: Stmt) -> list[str]:
    """How much deeper than block its first few lines inside are indented."""
    if isinstance(block, Block):
        inners = [line_indent(child.pre) for child in block.children[:3]]
    elif type(block) is Opaque:
        # A host or class block is kept as text: its lines show the step all the same (a
        # file of hosts and no subnet would otherwise take the other file's).
        inners = _BODY_INDENT.findall(block.body, 0, 2000)[:3]
    else:
        return []
    outer = line_indent(block.pre) or ""
    return [inner[len(outer):] for inner in inners
            if inner and len(inner) > len(outer) and inner.startswith(outer)]


class Units:
    """Each file's indentation step, learnt once: an included file may indent otherwise than
    the main one; one that shows none (no block) takes the main file's."""

    def __init__(self, main: Document, default: str = "    "):
        self.main = indent_unit(main, default)
        self._known = {id(main): self.main}

    def of(self, doc: Document) -> str:
        unit = self._known.get(id(doc))
        if unit is None:
            unit = self._known[id(doc)] = indent_unit(doc, self.main)
        return unit


_BODY_INDENT = re.compile(r"\n([ \t]+)(?=[^\s#])")


def line_indent(pre: str) -> str | None:
    """The whitespace after the last newline of pre; None when pre holds no newline."""
    at = pre.rfind("\n")
    return None if at < 0 else pre[at + 1:]


_MADE: dict[str, Stmt] = {}


def snippet(text: str) -> Stmt:
    """One statement or block, from text the wizard generated."""
    # The same statement goes into thousands of pools: read it once, hand out copies.
    made = _MADE.get(text)
    if made is None:
        made = parse(text, "<generated>").children[0]
        if type(made) is not Stmt:
            return made
        if len(_MADE) > 256:
            _MADE.clear()
        _MADE[text] = made
    return Stmt(made.pre, made.head, made.post, made.line)


def block_text(head: str, lines: list[str], indent: str, unit: str) -> str:
    body = "".join(f"\n{indent}{unit}{line}" for line in lines)
    return f"{head} {{{body}\n{indent}}}"


def _text(node: Stmt) -> str:
    out: list[str] = []
    node.emit(out)
    return "".join(out[1:]) if out and not out[0].strip() else "".join(out)


def copy_node(node: Stmt, src_unit: str, dst_unit: str) -> Stmt:
    """A copy of node for another place or file, without the comments above it, at indent
    "" in the indentation step of the file it goes to (insert_before and append then move
    it to where it lands)."""
    out: list[str] = []
    node.emit(out)
    base = line_indent(out[0]) or ""
    out[0] = ""
    text = "".join(out)
    if "\r" in text:
        # A copy takes the line endings of the file it goes to, as the lines the plan writes
        # do: bare \n here, which plan turns into CRLF where that file is written so.
        text = text.replace("\r\n", "\n")
    copy = snippet(text)
    restyle(copy, base, "", src_unit, dst_unit)
    return copy


# A line break and the indentation after it, unless the line is blank (no trailing spaces).
_LINE_START = re.compile(r"\n([ \t]*+)(?![\r\n])")


def restyle(node: Stmt, from_base: str, to_base: str, from_unit: str, to_unit: str) -> None:
    """Re-indent the lines inside node (not its own pre, which the caller places): each line
    drops from_base, has its steps of from_unit written in to_unit, and gains to_base."""
    if from_base == to_base and from_unit == to_unit and (not to_unit or "\t" in to_unit):
        return

    # Counted in columns, a tab to the next multiple of 8 as dhcpd's authors' editors show
    # it: ISC's own examples indent 4 spaces, then a tab for 8, a tab and 4 spaces for 12,
    # which no run of one unit matches. Also between files of one step of spaces: a tab
    # among them is a stray of the source, not the target's style.
    step = _columns(from_unit) if from_unit != to_unit or "\t" not in to_unit else 0
    base_columns = _columns(from_base)

    def indent(m) -> str:
        ws = m.group(1)
        if step:
            columns = _columns(ws) - base_columns
            if columns >= 0:
                levels, rest = divmod(columns, step)
                return "\n" + to_base + to_unit * levels + " " * rest
        if ws.startswith(from_base):
            ws = ws[len(from_base):]
        levels, at = 0, 0
        while from_unit and ws.startswith(from_unit, at):
            levels, at = levels + 1, at + len(from_unit)
        return "\n" + to_base + to_unit * levels + ws[at:]

    def fix(text: str) -> str:
        return _LINE_START.sub(indent, text) if "\n" in text else text

    stack = [(node, True)]
    while stack:
        item, top = stack.pop()
        if not top:
            item.pre = fix(item.pre)
        if '"' not in item.head:  # a line break inside a string is the string's own
            item.head = fix(item.head)
        if type(item) is Opaque:
            item.body = fix(item.body)
        elif isinstance(item, Block):
            item.tail = fix(item.tail)
            stack.extend((child, False) for child in item.children)


def _columns(ws: str) -> int:
    width = 0
    for ch in ws:
        width = width + 8 - width % 8 if ch == "\t" else width + 1
    return width


def _place(nodes: list[Stmt], indent: str) -> None:
    """Nodes made at indent "" (snippets, copies) moved to the indentation they land at."""
    if indent:
        for node in nodes:
            if isinstance(node, (Block, Opaque)) or "\n" in node.head:
                restyle(node, "", indent, "", "")


def _split_attached(pre: str) -> tuple[str, str]:
    """pre = lead + attached, where attached is the comment lines right above a statement
    (no blank line between) plus its indentation."""
    last = start = pre.rfind("\n") + 1
    while start > 0:
        prev = pre.rfind("\n", 0, start - 1)
        if not pre[prev + 1:start - 1].lstrip(" \t").startswith("#"):
            break
        if prev < 0:
            # The comments run from the top of the file: its header, which stays first
            # whole (a lone comment line there always did; a paragraph was cut in two).
            return pre[:last], pre[last:]
        start = prev + 1
    return pre[:start], pre[start:]


def insert_before(siblings: list[Stmt], index: int, nodes: list[Stmt], gap: bool = False) -> None:
    """Put nodes before siblings[index], each on its own line at that statement's indentation;
    gap adds a blank line after them. Nodes are made at indent "" (see copy_node)."""
    after = siblings[index]
    pre = after.pre
    blank = "\n" if gap else ""
    if "\n" not in pre and not gap and all("\n" not in _text(n) for n in nodes):
        # A block written on one line (`pool { range ...; }`, `pool{range ...;}`) stays so.
        nodes[0].pre = pre
        for node in nodes[1:]:
            node.pre = " "
        after.pre = " " + pre.lstrip(" \t")
        siblings[index:index] = nodes
        return
    if "\n" not in pre:
        indent = ""
        nodes[0].pre = pre
        after.pre = "\n" + blank + pre.lstrip(" \t")
    else:
        lead, attached = _split_attached(pre)
        indent = line_indent(pre) or ""
        nodes[0].pre = lead + indent
        after.pre = "\n" + blank + attached
    for node in nodes[1:]:
        node.pre = "\n" + indent
    _place(nodes, indent)
    siblings[index:index] = nodes


def append(owner: Block | Document, nodes: list[Stmt], unit: str, gap: bool = False) -> None:
    """Put nodes after the last statement of a block or file. Nodes are made at indent ""."""
    siblings = owner.children
    blank = "\n" if gap else ""
    lead = "\n"
    if isinstance(owner, Document):
        indent = line_indent(siblings[-1].pre) or "" if siblings else ""
        if not siblings:
            # A file of comments only: they stay first, and a last one without its line
            # break does not swallow what follows.
            lead = owner.tail + ("\n" if owner.tail and not owner.tail.endswith("\n") else "")
            if not lead.strip():
                lead = ""
            elif gap:
                lead += "\n"
            owner.tail = "\n"
    elif siblings:
        indent = line_indent(siblings[-1].pre)
        if indent is None and "\n" in owner.tail:
            indent = _own_indent(owner, unit)
        # else a block written on one line (`failover peer "x" { primary; ... }`): it stays so.
    elif "\n" in owner.tail:
        indent = (line_indent(owner.tail) or "") + unit
    else:
        indent = None
    for i, node in enumerate(nodes):
        if indent is None:
            node.pre = " "
        elif i == 0 and not siblings and isinstance(owner, Document):
            node.pre = lead
        else:
            node.pre = "\n" + (blank if i == 0 and siblings else "") + indent
    if indent is not None:
        _place(nodes, indent)
    siblings.extend(nodes)


_TRIVIA = re.compile(tokens.TRIVIA)


def prepend(block: Block, node: Stmt, unit: str) -> None:
    """Put node first in block, as insert_before(children, 0) or append would."""
    items = block.items
    if block.lazy and items and type(items[0]) is Run:
        # The block starts with statements still kept as source text (tree.Run): where
        # insert_before would leave that text as it is, go ahead of it without reading it
        # into nodes (thousands of pools in a campus config; reading them costs more than
        # the rest of the plan).
        run = items[0]
        pre = run.text[run.start:_TRIVIA.match(run.text, run.start).end()]
        lead, _ = _split_attached(pre)
        if pre == " " or (lead == "\n" and "\n" in pre):
            node.pre = pre if pre == " " else "\n" + line_indent(pre)
            items.insert(0, node)
            return
    children = block.children
    if children:
        insert_before(children, 0, [node])
    else:
        append(block, [node], unit)


def replace(siblings: list[Stmt], index: int, nodes: list[Stmt]) -> None:
    """Put nodes where siblings[index] is: the first takes its place, comments above it and
    all; the others follow on lines of their own at its indentation."""
    old = siblings[index]
    indent = line_indent(old.pre)
    nodes[0].pre = old.pre
    for node in nodes[1:]:
        node.pre = "\n" + indent if indent is not None else " "
    _place(nodes, indent or "")
    siblings[index:index + 1] = nodes


def _own_indent(owner: Block | Document, unit: str) -> str:
    if isinstance(owner, Document):
        return ""
    return (line_indent(owner.tail) or "") + unit


def remove(owner: Block | Document, node: Stmt) -> None:
    """Drop a statement; comments above it stay, attached to what follows."""
    siblings = owner.children
    index = next(i for i, n in enumerate(siblings) if n is node)
    del siblings[index]
    if "#" in node.pre:
        keep = node.pre[: max(node.pre.rfind("\n"), 0)]
        if index < len(siblings):
            siblings[index].pre = keep + siblings[index].pre
        else:
            owner.tail = keep + owner.tail


def set_words(stmt: Stmt, text: str) -> bool:
    """Give stmt the head `text` unless it already says the same words; True when changed.
    Words compare without case: dhcpd reads keywords in any case, and what the plan sets
    after them (addresses, host names, numbers, hex, key names) means the same in any case,
    so `MCLT 3600;` or `OMAPI-PORT 7911;` is left as written rather than shown changed."""
    wanted = parse(text + ";", "<generated>").children[0].words
    if [w.lower() for w in tokens.glued(stmt.words)] == [w.lower() for w in wanted]:
        return False
    stmt.set_head(text)
    return True
