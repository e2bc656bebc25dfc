"""Unified diffs of a config before and after the plan: minimal, in time near linear.

Users review these line by line before a production change, so a changed line must show as
that line, not as a whole block removed and added again. A first pass aligns the texts in
linear time (a plan inserts and rewrites a few lines here and there in files of hundreds of
thousands of lines); every stretch between two long equal runs is then diffed again exactly,
with Myers' O((N+M)D) shortest edit script (what GNU diff computes), so that repeated lines
(`  }`) cannot make the first pass show more than changed. A stretch too large for Myers is
first cut at lines that occur once on each side in the same order (patience anchors).
"""

from __future__ import annotations

from wizard.conf.parser import paused_gc

_MYERS_BUDGET = 4_000_000  # cells of (N+M) x D that one exact search may visit
_SETTLED = 16              # an equal run this long is taken as part of the best alignment


def opcodes(a: list[str], b: list[str]) -> list[tuple[str, int, int, int, int]]:
    rough = _rough(a, b)
    tags = {op[0] for op in rough}
    if tags <= {"equal", "insert"} or tags <= {"equal", "delete"}:
        # Every line of one side kept: no script has fewer changes (what a plan that only
        # adds lines, the usual one, gives).
        return rough
    from collections import Counter

    # An equal run of the first pass is kept as it is only when it is long and holds a line
    # found once in each text: in repetitive text the first pass may match a run one
    # repetition off, and every stretch in between is diffed again exactly anyway.
    count_a, count_b = Counter(a), Counter(b)

    def settled(op) -> bool:
        return op[0] == "equal" and op[2] - op[1] >= _SETTLED and any(
            count_a[line] == 1 and count_b[line] == 1 for line in a[op[1]:op[2]])

    out: list[tuple[str, int, int, int, int]] = []
    k, last = 0, len(rough) - 1
    while k <= last:
        op = rough[k]
        # A common prefix or suffix is part of some shortest script, whatever its length.
        if op[0] == "equal" and (k in (0, last) or settled(op)):
            out.append(op)
            k += 1
            continue
        end = k
        while end < last and not (rough[end + 1][0] == "equal" and (
                end + 1 == last or settled(rough[end + 1]))):
            end += 1
        if end == k and op[0] in ("insert", "delete"):
            out.append(op)  # lines only added or only removed: as small as it gets
        else:
            out += _exact(a, b, op[1], rough[end][2], op[3], rough[end][4])
        k = end + 1
    return _merged(out)


def _merged(ops):
    merged: list[tuple[str, int, int, int, int]] = []
    for op in ops:
        if op[1] == op[2] and op[3] == op[4]:
            continue
        if merged and merged[-1][0] == op[0] == "equal":
            merged[-1] = ("equal", merged[-1][1], op[2], merged[-1][3], op[4])
        elif merged and merged[-1][0] != "equal" and op[0] != "equal":
            last = merged[-1]
            i1, i2, j1, j2 = last[1], op[2], last[3], op[4]
            merged[-1] = ("replace" if i2 > i1 and j2 > j1 else "delete" if i2 > i1 else
                          "insert", i1, i2, j1, j2)
        else:
            merged.append(op)
    return merged


def _exact(a, b, alo, ahi, blo, bhi) -> list[tuple[str, int, int, int, int]]:
    """A shortest edit script between a[alo:ahi] and b[blo:bhi], as opcodes."""
    pairs: list[tuple[int, int, int]] = []  # (i, j, length) of equal runs
    bounds = (alo, ahi, blo, bhi)
    work = [bounds]
    while work:
        alo, ahi, blo, bhi = work.pop()
        while alo < ahi and blo < bhi and a[alo] == b[blo]:
            pairs.append((alo, blo, 1))
            alo, blo = alo + 1, blo + 1
        while alo < ahi and blo < bhi and a[ahi - 1] == b[bhi - 1]:
            pairs.append((ahi - 1, bhi - 1, 1))
            ahi, bhi = ahi - 1, bhi - 1
        if alo == ahi or blo == bhi:
            continue
        n, m = ahi - alo, bhi - blo
        script = _myers(a, b, alo, ahi, blo, bhi, max(8, _MYERS_BUDGET // (n + m)))
        if script is not None:
            pairs += script
            continue
        anchors = _anchors(a, b, alo, ahi, blo, bhi)
        if not anchors:
            # Large, repetitive and much changed: the first pass's alignment of it.
            pairs += [(i1 + alo, j1 + blo, i2 - i1)
                      for tag, i1, i2, j1, j2 in _rough(a[alo:ahi], b[blo:bhi])
                      if tag == "equal"]
            continue
        prev_i, prev_j = alo, blo
        for i, j in anchors:
            work.append((prev_i, i, prev_j, j))
            pairs.append((i, j, 1))
            prev_i, prev_j = i + 1, j + 1
        work.append((prev_i, ahi, prev_j, bhi))
    return _to_opcodes(sorted(pairs), *bounds)


_CONFIRM = 3   # lines that must agree for a resynchronisation to count
_NEAR = 12     # how far the cheap look-ahead searches


def _rough(a: list[str], b: list[str]) -> list[tuple[str, int, int, int, int]]:
    """A first alignment, in linear time: equal runs skipped a slice at a time, a change
    resynchronised by looking a few lines ahead (a plan mostly inserts single lines)."""
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
    # A block inserted or removed whole, longer than the look-ahead (a failover peer
    # declaration is thirteen lines): the nearer of the two.
    y = _next_agreeing(b, a[i], j + 1, j + _WHOLE, lambda y: _agree(a, b, i, y))
    x = _next_agreeing(a, b[j], i + 1, i + _WHOLE, lambda x: _agree(a, b, x, j))
    if y is not None and (x is None or y - j <= x - i):
        return i, y
    if x is not None:
        return x, j
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


_WHOLE = 2048  # how far a block inserted or removed whole is looked for


def _next_agreeing(seq: list[str], line: str, start: int, stop: int, agrees) -> int | None:
    """The first index in seq[start:stop] holding line where agrees(index), else None."""
    while True:
        try:
            k = seq.index(line, start, stop)
        except ValueError:
            return None
        if agrees(k):
            return k
        start = k + 1


def _myers(a, b, alo, ahi, blo, bhi, limit: int):
    """Equal runs of a shortest edit script between the two regions, or None when it needs
    more than limit edits."""
    n, m = ahi - alo, bhi - blo
    limit = min(limit, n + m)
    offset = limit + 1
    v = [0] * (2 * limit + 3)
    trace = []  # per round d: the furthest x on diagonals -d-1 .. d+1 before the round
    for d in range(limit + 1):
        trace.append(v[offset - d - 1:offset + d + 2])
        for k in range(-d, d + 1, 2):
            if k == -d or (k != d and v[offset + k - 1] < v[offset + k + 1]):
                x = v[offset + k + 1]
            else:
                x = v[offset + k - 1] + 1
            y = x - k
            while x < n and y < m and a[alo + x] == b[blo + y]:
                x, y = x + 1, y + 1
            v[offset + k] = x
            if x >= n and y >= m:
                return _backtrack(trace, n, m, d, alo, blo)
    return None


def _backtrack(trace, x: int, y: int, d: int, alo: int, blo: int):
    runs = []
    for depth in range(d, 0, -1):
        v = trace[depth]  # v[k + depth + 1] is diagonal k
        k = x - y
        if k == -depth or (k != depth and v[k + depth] < v[k + depth + 2]):
            prev_k = k + 1  # came down from diagonal k + 1 (an insertion)
            start = v[prev_k + depth + 1]
        else:
            prev_k = k - 1  # came right from diagonal k - 1 (a deletion)
            start = v[prev_k + depth + 1] + 1
        if x > start:  # the run of equal lines after that edit
            runs.append((alo + start, blo + start - k, x - start))
        x = v[prev_k + depth + 1]
        y = x - prev_k
    if x > 0:
        runs.append((alo, blo, x))
    return runs


def _anchors(a, b, alo, ahi, blo, bhi) -> list[tuple[int, int]]:
    """Lines found exactly once in each region, kept in an order both sides agree on (the
    longest increasing run of their positions, by patience sorting)."""
    from bisect import bisect_left
    from collections import Counter

    # Counted and intersected in C: a campus config has hundreds of thousands of lines.
    count_a, count_b = Counter(a[alo:ahi]), Counter(b[blo:bhi])
    common = {line for line, c in count_a.items() if c == 1}
    common.intersection_update(line for line, c in count_b.items() if c == 1)
    if not common:
        return []
    where = {line: j for j, line in enumerate(b[blo:bhi], blo) if line in common}
    cands = [(i, where[line]) for i, line in enumerate(a[alo:ahi], alo) if line in common]
    tails: list[int] = []   # smallest j ending an increasing run of each length
    ends: list[int] = []    # index in cands of that run's last element
    back = [-1] * len(cands)
    for idx, (_, j) in enumerate(cands):
        pos = bisect_left(tails, j)
        if pos == len(tails):
            tails.append(j)
            ends.append(idx)
        else:
            tails[pos] = j
            ends[pos] = idx
        back[idx] = ends[pos - 1] if pos else -1
    chain = []
    idx = ends[-1]
    while idx >= 0:
        chain.append(cands[idx])
        idx = back[idx]
    chain.reverse()
    return chain


def _to_opcodes(pairs, alo: int, ahi: int, blo: int, bhi: int):
    ops: list[tuple[str, int, int, int, int]] = []
    i, j = alo, blo
    for pi, pj, length in pairs:
        if pi > i or pj > j:
            tag = "replace" if pi > i and pj > j else ("delete" if pi > i else "insert")
            ops.append((tag, i, pi, j, pj))
        if ops and ops[-1][0] == "equal" and ops[-1][2] == pi and ops[-1][4] == pj:
            ops[-1] = ("equal", ops[-1][1], pi + length, ops[-1][3], pj + length)
        else:
            ops.append(("equal", pi, pi + length, pj, pj + length))
        i, j = pi + length, pj + length
    if i < ahi or j < bhi:
        tag = "replace" if i < ahi and j < bhi else ("delete" if i < ahi else "insert")
        ops.append((tag, i, ahi, j, bhi))
    return ops


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


def _prefixed(prefix: str, lines: list[str]) -> list[str]:
    # Every line but a text's last ends with a newline (_lines): only the last may need the
    # marker.
    if not lines or lines[-1].endswith("\n"):
        return list(map(prefix.__add__, lines))
    return [_line(prefix, line) for line in lines]


def _lines(text: str) -> list[str]:
    """The lines of text as GNU diff and patch count them, cut after each \n only."""
    lines = text.splitlines(keepends=True)  # in C, but it also cuts after \r, \f, \x1c...
    if not lines or text.count("\n") == len(lines) - (not lines[-1].endswith("\n")):
        return lines
    # A lone \r or a form feed (dhcpd reads both as blanks): cut there, the hunks' counts and
    # their "No newline" markers mid-file made a diff that patch refused as malformed.
    lines = [line + "\n" for line in text.split("\n")]
    last = lines.pop()[:-1]
    if last:
        lines.append(last)
    return lines


def unified(before: str, after: str, fromfile: str, tofile: str, context: int = 3) -> str:
    if before == after:
        return ""
    a, b = _lines(before), _lines(after)
    out = [f"--- {fromfile}\n", f"+++ {tofile}\n"]
    with paused_gc():  # thousands of tuples, no cycle: the collector would only walk them
        codes = opcodes(a, b)
    if not (before.endswith("\n") and after.endswith("\n")):
        for group in _grouped(codes, context):
            _hunk(out, group, a, b)
        return "".join(out)
    # Every line of both texts ends with a newline, so none needs the marker: _grouped and
    # _hunk in one loop, without the tuples and calls per hunk (a plan makes thousands). A
    # run of lines is prefixed in one join: " " + " ".join(lines) when every line ends "\n".
    _trim_ends(codes, context)
    nn = context + context
    append = out.append
    space, minus, plus = " ".join, "-".join, "+".join
    head = -1  # index in out of the open hunk's @@ line (filled in when it closes); -1: none
    gi = gj = last_i = last_j = ops = 0
    lone_equal = False
    for tag, i1, i2, j1, j2 in codes:
        if tag == "equal" and i2 - i1 > nn:
            ci, cj = min(i2, i1 + context), min(j2, j1 + context)
            if head < 0:
                append("")
                head, gi, gj = len(out) - 1, i1, j1
            if ci > i1:
                append(" " + space(a[i1:ci]))
            out[head] = f"@@ -{_range(gi, ci)} +{_range(gj, cj)} @@\n"
            head = -1
            i1, j1 = max(i1, i2 - context), max(j1, j2 - context)
        if head < 0:
            append("")
            head, gi, gj, ops = len(out) - 1, i1, j1, 0
            lone_equal = tag == "equal"
        ops += 1
        if tag == "equal":
            if i2 > i1:
                append(" " + space(a[i1:i2]))
        else:
            if i2 > i1:
                append("-" + minus(a[i1:i2]))
            if j2 > j1:
                append("+" + plus(b[j1:j2]))
        last_i, last_j = i2, j2
    if head >= 0:
        if ops == 1 and lone_equal:
            del out[head:]
        else:
            out[head] = f"@@ -{_range(gi, last_i)} +{_range(gj, last_j)} @@\n"
    return "".join(out)


def _hunk(out: list[str], group, a, b) -> None:
    first, last = group[0], group[-1]
    out.append(f"@@ -{_range(first[1], last[2])} +{_range(first[3], last[4])} @@\n")
    for tag, i1, i2, j1, j2 in group:
        if tag == "equal":
            out += _prefixed(" ", a[i1:i2])
            continue
        out += _prefixed("-", a[i1:i2])
        out += _prefixed("+", b[j1:j2])
