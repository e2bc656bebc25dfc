"""The one shape every config error takes: `file:line:col: problem`, the line, a caret.

What is shown is made safe to print: a `key` block's secret is masked (an error near it
would otherwise quote it on stderr and into logs), a line is cut to a window around the
caret (one minified line can be megabytes), and bytes a terminal would act on are drawn as
visible symbols.
"""

from __future__ import annotations

import re

# A byte that is not UTF-8 is read as a lone surrogate (loader.decode) so that the file
# survives the round trip; in a message it would make every writer (terminal, session
# record) fail. One replacement character each keeps the caret under its column.
_UNPRINTABLE = {code: "\ufffd" for code in range(0xDC80, 0xDD00)}
# C0 controls but the tab (expanded below) and the newline (joins the message's parts), and
# DEL: their "control pictures", one column each like the byte they stand for.
_UNPRINTABLE.update({code: chr(0x2400 + code) for code in range(32) if code not in (9, 10)})
_UNPRINTABLE[0x7F] = "\u2421"

WIDTH = 160          # columns of a shown line
PROBLEM_WIDTH = 300  # characters of the problem sentence (it may quote a statement)
MASK = "***REDACTED***"  # as the session record masks it
# `secret VALUE` as dhcpd reads it: a string (even one left open) or a word, after any
# comments (to dhcpd's lexer they are white space).
_SECRET = re.compile(r'(?i)(\bsecret\s+(?:\#[^\n]*+\s*)*)("(?:[^"\\]|\\.)*"?|[^\s;{}"\#]+)')
# dhcpd reads a secret from every token up to the `;` (parse.c, parse_base64), so one
# written in pieces (wrapped over lines, or cut at spaces) is all of them, one after another.
_PIECE = re.compile(r'(?:\s++|\#[^\n]*+)*("(?:[^"\\]|\\.)*"?|[^\s;{}"\#]+)')
# The start of a line up to a point, when that point is in neither a comment nor a string.
_CODE = re.compile(r'(?:[^"\#\n]++|"[^"\\]*+(?:\\.[^"\\]*+)*")*')


def secrets_in(text: str) -> list[str]:
    """Every secret value a config text holds, and each piece of one written in pieces,
    longest first (so none is masked in part). `secret` in a comment or a string is no
    statement: the words after it (`# rotate the secret omapi_key yearly`) are not secrets,
    and masking them would blank those words wherever the plan shows them."""
    found: set[str] = set()
    for m in _SECRET.finditer(text):
        start = text.rfind("\n", 0, m.start()) + 1
        if _CODE.match(text, start, m.start()).end() != m.start():
            continue
        pieces, at = [], m.start(2)
        while (piece := _PIECE.match(text, at)) is not None and piece.group(1):
            pieces.append(piece.group(1))
            at = piece.end()
        values = [v[1:-1] if len(v) > 2 and v[0] == '"' and v[-1] == '"' else v for v in pieces]
        found.update(pieces, values, ["".join(values)])
    return sorted((v for v in found if len(v) >= 4), key=len, reverse=True)


def mask(text: str, secrets: list[str] = ()) -> str:
    text = _SECRET.sub(lambda m: m.group(1) + MASK, text)
    for value in secrets:
        if value in text:
            text = text.replace(value, MASK)
    return text


def located(path: str, line: int, col: int, problem: str, source_line: str | None,
            secrets: list[str] = ()) -> str:
    problem = mask(problem, secrets)
    if len(problem) > PROBLEM_WIDTH:
        problem = problem[:PROBLEM_WIDTH] + "…"
    text = f"{path}:{line}:{col}: {problem}"
    if source_line is not None:
        shown = mask(source_line.rstrip("\r\n").expandtabs(8), secrets)
        # Tabs before the column must widen the caret's offset the same way.
        caret = len(mask(source_line[: max(col - 1, 0)].expandtabs(8), secrets))
        if len(shown) > WIDTH:
            start = max(0, min(caret - WIDTH // 2, len(shown) - WIDTH))
            end = start + WIDTH
            head, tail = ("…" if start else ""), ("…" if end < len(shown) else "")
            shown = head + shown[start:end] + tail
            caret = caret - start + len(head)
        text += f"\n  {shown}\n  {' ' * caret}^"
    return text.translate(_UNPRINTABLE)


def position(text: str, offset: int) -> tuple[int, int, str]:
    """1-based line and column of offset in text, and that line's text."""
    line = text.count("\n", 0, offset) + 1
    start = text.rfind("\n", 0, offset) + 1
    end = text.find("\n", offset)
    return line, offset - start + 1, text[start: end if end >= 0 else len(text)]


def located_at(path: str, text: str, offset: int, problem: str) -> str:
    line, col, source = position(text, offset)
    return located(path, line, col, problem, source, secrets_in(text))
