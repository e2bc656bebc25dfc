"""Text -> tree, losslessly; malformed input becomes a located InputError (exit 2)."""

from __future__ import annotations

import gc
from contextlib import contextmanager

from wizard.conf import tokens
from wizard.conf.located import located_at
from wizard.conf.tree import Block, Document, Opaque, Stmt
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
    with paused_gc():
        return _parse(text, path)


def _parse(text: str, path: str) -> Document:
    match = tokens.STATEMENT.match
    flat = tokens.FLAT_BODY.match
    # Trivia repeats endlessly ("\n  "): one string object each instead of one per node.
    shared: dict[str, str] = {}
    intern = shared.setdefault
    count = text.count
    pos = 0
    line = 1
    root: list[Stmt] = []
    children = root
    open_blocks: list[tuple[Block, list[Stmt], int]] = []
    while True:
        m = match(text, pos)
        if m is None:
            _fail_unmatched(text, path, pos)
        pre, head, term, post = m.group("pre", "head", "term", "post")
        head_at = m.start("head")
        head_line = line + count("\n", pos, head_at)
        pre = intern(pre, pre)
        if term == ";":
            children.append(Stmt(pre, head, post, head_line))
        elif term == "{":
            if tokens.RECORD_OPENER.search(head):
                rec = tokens.RECORD_TAIL.match(text, m.end("term"))
                if rec is None:
                    _fail(text, path, m.start("term"), "record type `{ ... }` is not closed by "
                          "`};`", "close the record type with `}` and end the statement with `;`")
                children.append(Stmt(pre, head + "{" + rec.group("body"), rec.group("post"),
                                     head_line))
                line = head_line + count("\n", head_at, rec.end())
                pos = rec.end()
                continue
            if head.startswith("host") and head[4:5].isspace() and (body := flat(text, m.end())) is not None:
                children.append(Opaque(pre, head, body.group("body"), body.group("post"),
                                       head_line))
                line = head_line + count("\n", head_at, body.end())
                pos = body.end()
                continue
            block = Block(pre, head, intern(post, post), line=head_line)
            children.append(block)
            open_blocks.append((block, children, head_at))
            children = block.children
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
        else:  # end of text
            if head.strip():
                _fail(text, path, _end_of_head(m), "expected ';' at end of file",
                      "end the last statement with a semicolon")
            if open_blocks:
                block, _, at = open_blocks[-1]
                _fail(text, path, at, f"block `{block.head.strip()}` is never closed",
                      "add the missing '}'")
            return Document(path, root, pre, text)
        line = head_line + count("\n", head_at, m.end())
        pos = m.end()


def _end_of_head(m) -> int:
    return m.start("head") + len(m.group("head").rstrip())


def _fail_unmatched(text: str, path: str, pos: int) -> None:
    # Only an unterminated string stops STATEMENT from matching.
    at = tokens.PRE_AND_HEAD.match(text, pos).end()
    _fail(text, path, at, "unterminated string", 'close the string with a double quote (")')


def _fail(text: str, path: str, offset: int, problem: str, hint: str) -> None:
    raise InputError(located_at(path, text, offset, problem), hint)
