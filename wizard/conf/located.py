"""The one shape every config error takes: `file:line:col: problem`, the line, a caret."""

from __future__ import annotations

# A byte that is not UTF-8 is read as a lone surrogate (loader.decode) so that the file
# survives the round trip; in a message it would make every writer (terminal, session
# record) fail. One replacement character each keeps the caret under its column.
_UNDECODABLE = {code: "\ufffd" for code in range(0xDC80, 0xDD00)}


def located(path: str, line: int, col: int, problem: str, source_line: str | None) -> str:
    text = f"{path}:{line}:{col}: {problem}"
    if source_line is not None:
        shown = source_line.rstrip("\r\n").expandtabs(8)
        # Tabs before the column must widen the caret's offset the same way.
        prefix = source_line[: max(col - 1, 0)].expandtabs(8)
        text += f"\n  {shown}\n  {' ' * len(prefix)}^"
    return text.translate(_UNDECODABLE)


def position(text: str, offset: int) -> tuple[int, int, str]:
    """1-based line and column of offset in text, and that line's text."""
    line = text.count("\n", 0, offset) + 1
    start = text.rfind("\n", 0, offset) + 1
    end = text.find("\n", offset)
    return line, offset - start + 1, text[start: end if end >= 0 else len(text)]


def located_at(path: str, text: str, offset: int, problem: str) -> str:
    line, col, source = position(text, offset)
    return located(path, line, col, problem, source)
