"""Text -> tree, losslessly; malformed input becomes a located InputError (exit 2)."""

from __future__ import annotations

import gc
from contextlib import contextmanager

from wizard.conf import tokens
from wizard.conf.located import located, located_at
from wizard.conf.tree import Block, Document, Opaque, Run, Stmt
from wizard.errors import InputError


@contextmanager
def paused_gc():
    """Building a few hundred thousand objects would set off the cyclic collector again and
    again over an ever larger heap (quadratic time); trees and models have no cycles."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def parse(text: str, path: str = "<config>") -> Document:
    if text.startswith("\ufeff"):
        # What a Windows editor writes first; invisible, and dhcpd refuses the file for it.
        _fail(text, path, 0, "the file starts with a byte-order mark (BOM), which dhcpd "
              "refuses", "save the file as UTF-8 without BOM (e.g. `sed -i '1s/^\\xEF\\xBB"
              "\\xBF//' FILE`)")
    if text.startswith(("\udcff\udcfe", "\udcfe\udcff")):  # the UTF-16 BOMs, undecodable
        # Notepad's "Unicode": every other byte is NUL, so no line of it is worth showing.
        # dhcpd -t passes it, having read nothing: it would serve no subnet at all.
        raise InputError(located(path, 1, 1, "the file is UTF-16, of which dhcpd reads nothing",
                                 ""),
                         "save it as UTF-8 (e.g. `iconv -f UTF-16 -t UTF-8 FILE`)")
    if len(text) < 4096:  # a generated snippet: too few objects for the collector to matter
        return _parse(text, path)
    with paused_gc():
        return _parse(text, path)


def parse_span(text: str, start: int, stop: int, line: int) -> list[Stmt]:
    """The statements of a Run, read one by one (a run holds no error and no block)."""
    return _parse(text, "<run>", start, stop, line, skeletal=False)


def _parse(text: str, path: str, pos: int = 0, stop: int = -1, line: int = 1,
           skeletal: bool = True):
    # Top-level statements are read one by one (each is a setting or an anchor); inside a
    # block, a run of statements the model ignores is one match (see tokens.RUN_AND_STATEMENT).
    # Either always matches.
    one = tokens.STATEMENT.match
    runs = tokens.RUN_AND_STATEMENT.match if skeletal else one
    flat = tokens.FLAT_BODY.match
    record = tokens.RECORD_OPENER.search
    # Trivia repeats endlessly ("\n  "): one string object each instead of one per node.
    shared: dict[str, str] = {}
    intern = shared.setdefault
    count = text.count
    root: list[Stmt] = []
    children = root
    block = None
    open_blocks: list[tuple[Block, list[Stmt], int]] = []
    line_pos = pos  # line is the line number at offset line_pos
    while pos != stop:
        m = (runs if open_blocks else one)(text, pos)
        pre, head, term, post = m.groups()
        pre_at = m.start(1)
        if pre_at != pos:
            line += count("\n", line_pos, pos)
            line_pos = pos
            children.append(Run(text, pos, pre_at, line, parse_span))
            block.lazy = True
        head_at = pre_at + len(pre)
        line = head_line = line + count("\n", line_pos, head_at)
        line_pos = head_at
        pre = intern(pre, pre)
        if term == ";":
            children.append(Stmt(pre, head, post, head_line))
        elif term == "{":
            if ("=" in head or "of" in head) and record(head):
                rec = tokens.RECORD_TAIL.match(text, m.end("term"))
                if rec is None:
                    _fail(text, path, m.start("term"), "record type `{ ... }` is not closed by "
                          "`};`", "close the record type with `}` and end the statement with `;`")
                children.append(Stmt(pre, head + "{" + rec.group("body"), rec.group("post"),
                                     head_line))
                pos = rec.end()
                continue
            # The body starts right after the brace: a comment after it is part of the body.
            if (head.startswith("host") and head[4:5].isspace()
                    and (body := flat(text, m.end("term"))) is not None):
                children.append(Opaque(pre, head, body.group("body"), body.group("post"),
                                       head_line))
                pos = body.end()
                continue
            block = Block(pre, head, intern(post, post), line=head_line)
            children.append(block)
            open_blocks.append((block, children, head_at))
            children = block.items
        elif term == "}":
            if head.strip():
                _fail(text, path, _end_of_head(m), "expected ';' before '}'",
                      "end the statement with a semicolon")
            if not open_blocks:
                _fail(text, path, m.start("term"), "unexpected '}' with no block open",
                      "remove it, or look for a '{' missing earlier")
            block, children, _ = open_blocks.pop()
            block.tail = pre
            block.close_post = intern(post, post)
            block = open_blocks[-1][0] if open_blocks else None
        else:  # end of text, or the head stopped at a string that never ends
            if m.end("head") != len(text):
                _fail(text, path, m.end("head"), "unterminated string",
                      'close the string with a double quote (")')
            if head.strip():
                _fail(text, path, _end_of_head(m), "expected ';' at end of file",
                      "end the last statement with a semicolon")
            if open_blocks:
                block, _, at = open_blocks[-1]
                _fail(text, path, at, f"block `{block.head.strip()}` is never closed",
                      "add the missing '}'")
            return Document(path, root, pre, text)
        pos = m.end()
    return root


def _end_of_head(m) -> int:
    return m.start("head") + len(m.group("head").rstrip())


def _fail(text: str, path: str, offset: int, problem: str, hint: str) -> None:
    raise InputError(located_at(path, text, offset, problem), hint)
