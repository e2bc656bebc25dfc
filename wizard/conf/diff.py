"""Unified diffs of a config before and after the plan, in time linear in the file.

difflib's matcher is quadratic on configs where thousands of lines read `  }`; a plan only
inserts and rewrites a few lines here and there, so equal runs are skipped line by line and
a change is resynchronised by looking a few lines ahead, with difflib only as a fallback on a
small window.
"""

from __future__ import annotations

from wizard.conf.parser import paused_gc

_CONFIRM = 3   # lines that must agree for a resynchronisation to count
_NEAR = 12     # how far the cheap look-ahead searches


def opcodes(a: list[str], b: list[str]) -> list[tuple[str, int, int, int, int]]:
    ops: list[tuple[str, int, int, int, int]] = []
    append = ops.append
    i = j = 0
    n, m = len(a), len(b)
    while i < n or j < m:
        start_i, start_j = i, j
        # Equal runs are long: skip them a slice at a time (compared in C), then line by line.
        while i + 8 <= n and j + 8 <= m and a[i:i + 8] == b[j:j + 8]:
            i += 8
            j += 8
        while i < n and j < m and a[i] == b[j]:
            i += 1
            j += 1
        if i > start_i:
            append(("equal", start_i, i, start_j, j))
        if i == n or j == m:
            if i < n or j < m:
                append(("delete" if j == m else "insert", i, n, j, m))
            break
        # What a plan does most: one line inserted. This is _resync's first candidate
        # (dx 0, dy 1), tested without the call.
        if j + 4 <= m and i + 3 <= n and a[i:i + 3] == b[j + 1:j + 4]:
            append(("insert", i, i, j, j + 1))
            j += 1
            continue
        x, y = _resync(a, b, i, j)
        tag = "replace" if x > i and y > j else ("delete" if x > i else "insert")
        append((tag, i, x, j, y))
        i, j = x, y
    return ops


def _agree(a: list[str], b: list[str], x: int, y: int) -> bool:
    k = min(_CONFIRM, len(a) - x, len(b) - y)
    return k > 0 and a[x:x + k] == b[y:y + k] and (k == _CONFIRM or x + k == len(a) or y + k == len(b))


def _resync(a: list[str], b: list[str], i: int, j: int) -> tuple[int, int]:
    """The nearest (x, y) after a mismatch at (i, j) from which both sides agree again."""
    for total in range(1, 2 * _NEAR):
        for dx in range(0, min(total, _NEAR) + 1):
            dy = total - dx
            if dy <= _NEAR and _agree(a, b, i + dx, j + dy):
                return i + dx, j + dy
    import difflib  # the fallback is rare; skip its import otherwise

    width = 256
    while True:
        sm = difflib.SequenceMatcher(None, a[i:i + width], b[j:j + width], autojunk=False)
        for block in sm.get_matching_blocks():
            if block.size and _agree(a, b, i + block.a, j + block.b):
                return i + block.a, j + block.b
        if i + width >= len(a) and j + width >= len(b):
            return len(a), len(b)
        width *= 4


def _range(start: int, stop: int) -> str:
    length = stop - start
    if length == 1:
        return str(start + 1)
    return f"{start if not length else start + 1},{length}"


def _line(prefix: str, text: str) -> str:
    if text.endswith("\n"):
        return prefix + text
    return prefix + text + "\n\\ No newline at end of file\n"


def _trim_ends(codes: list, n: int) -> None:
    """Equal runs at either end keep only the n lines next to a change."""
    if codes[0][0] == "equal":
        tag, i1, i2, j1, j2 = codes[0]
        codes[0] = tag, max(i1, i2 - n), i2, max(j1, j2 - n), j2
    if codes[-1][0] == "equal":
        tag, i1, i2, j1, j2 = codes[-1]
        codes[-1] = tag, i1, min(i2, i1 + n), j1, min(j2, j1 + n)


def _grouped(codes: list, n: int):
    """difflib.SequenceMatcher.get_grouped_opcodes, over opcodes already in hand."""
    if not codes:
        codes = [("equal", 0, 1, 0, 1)]
    _trim_ends(codes, n)
    nn = n + n
    group = []
    for tag, i1, i2, j1, j2 in codes:
        if tag == "equal" and i2 - i1 > nn:
            group.append((tag, i1, min(i2, i1 + n), j1, min(j2, j1 + n)))
            yield group
            group = []
            i1, j1 = max(i1, i2 - n), max(j1, j2 - n)
        group.append((tag, i1, i2, j1, j2))
    if group and not (len(group) == 1 and group[0][0] == "equal"):
        yield group


def _prefixed(prefix: str, lines: list[str], whole: bool) -> list[str]:
    # whole: every line but a text's last ends with a newline, so only the last may need
    # the marker; otherwise (a lone \r, a form feed) each line is looked at.
    if whole and (not lines or lines[-1].endswith("\n")):
        return list(map(prefix.__add__, lines))
    return [_line(prefix, line) for line in lines]


def _whole_lines(text: str, lines: list[str]) -> bool:
    # splitlines cuts after \n and after other breaks; a line holds a \n only at its end.
    if not lines:
        return True
    return text.count("\n") == len(lines) - (not lines[-1].endswith("\n"))


def unified(before: str, after: str, fromfile: str, tofile: str, context: int = 3) -> str:
    if before == after:
        return ""
    a, b = before.splitlines(keepends=True), after.splitlines(keepends=True)
    whole_a, whole_b = _whole_lines(before, a), _whole_lines(after, b)
    out = [f"--- {fromfile}\n", f"+++ {tofile}\n"]
    with paused_gc():  # thousands of tuples, no cycle: the collector would only walk them
        codes = opcodes(a, b)
    if not (whole_a and whole_b and before.endswith("\n") and after.endswith("\n")):
        for group in _grouped(codes, context):
            _hunk(out, group, a, b, whole_a, whole_b)
        return "".join(out)
    # Every line of both texts ends with a newline, so none needs the marker: _grouped and
    # _hunk in one loop, without the tuples and calls per hunk (a plan makes thousands).
    _trim_ends(codes, context)
    nn = context + context
    extend = out.extend
    space, minus, plus = " ".__add__, "-".__add__, "+".__add__
    head = -1  # index in out of the open hunk's @@ line (filled in when it closes); -1: none
    gi = gj = last_i = last_j = ops = 0
    lone_equal = False
    for tag, i1, i2, j1, j2 in codes:
        if tag == "equal" and i2 - i1 > nn:
            ci, cj = min(i2, i1 + context), min(j2, j1 + context)
            if head < 0:
                out.append("")
                head, gi, gj = len(out) - 1, i1, j1
            extend(map(space, a[i1:ci]))
            out[head] = f"@@ -{_range(gi, ci)} +{_range(gj, cj)} @@\n"
            head = -1
            i1, j1 = max(i1, i2 - context), max(j1, j2 - context)
        if head < 0:
            out.append("")
            head, gi, gj, ops = len(out) - 1, i1, j1, 0
            lone_equal = tag == "equal"
        ops += 1
        if tag == "equal":
            extend(map(space, a[i1:i2]))
        else:
            extend(map(minus, a[i1:i2]))
            extend(map(plus, b[j1:j2]))
        last_i, last_j = i2, j2
    if head >= 0:
        if ops == 1 and lone_equal:
            del out[head:]
        else:
            out[head] = f"@@ -{_range(gi, last_i)} +{_range(gj, last_j)} @@\n"
    return "".join(out)


def _hunk(out: list[str], group, a, b, whole_a: bool, whole_b: bool) -> None:
    first, last = group[0], group[-1]
    out.append(f"@@ -{_range(first[1], last[2])} +{_range(first[3], last[4])} @@\n")
    for tag, i1, i2, j1, j2 in group:
        if tag == "equal":
            out += _prefixed(" ", a[i1:i2], whole_a)
            continue
        out += _prefixed("-", a[i1:i2], whole_a)
        out += _prefixed("+", b[j1:j2], whole_b)
