"""Deployment evidence from a session directory: verify it, and write its report.

verify() re-checks what the recorder promised: an unbroken hash chain from the first event
to the last, a start and an end, every artifact's sha256, no unrecorded file, no unmasked
`secret` statement. report() turns the events into report.md and report.html, with the
files of each plan apart and which plan was applied.
"""

from __future__ import annotations

import hashlib
import json
import re
from datetime import datetime
from pathlib import Path

from wizard.errors import InputError
from wizard.record.redaction import MASK

_UNMASKED = re.compile(rb"\bsecret\s+(?!" + re.escape(MASK.encode()) + rb")(\"[^\"]*\"|[^;\s]+)\s*;",
                       re.I)


def _events_path(session_dir: Path) -> Path:
    path = Path(session_dir) / "events.jsonl"
    if not path.is_file():
        raise InputError(f"{session_dir} is not a session directory (no events.jsonl)",
                         "give a directory that dhcp-wizard recorded, e.g. one printed at the "
                         "end of `deploy` or `check`")
    return path


def _end(events: list[dict]) -> dict | None:
    """The session's end, if the record finishes with one. An end followed by more events
    (a session reopened, then cut off) ends nothing: the last command never finished."""
    last = events[-1] if events else {}
    return last if (last.get("step"), last.get("kind")) == ("session", "end") else None


def verify(session_dir: str | Path, *, still_open: bool = False,
           written: dict[str, tuple[str, int, int]] | None = None
           ) -> tuple[list[dict], list[str]]:
    """(events, problems); no problems means complete and untampered. still_open: the
    session is being recorded now (a report written before its end), so no end is due yet.
    written: name -> (sha256, size, mtime in ns) of artifacts the recording process wrote
    itself, from the redacted bytes it hashed; such a file, unchanged in size and time since,
    is not read back (`dhcp-wizard verify`, reading the record later, reads every byte)."""
    written = written or {}
    session_dir = Path(session_dir)
    raw = _events_path(session_dir).read_bytes().splitlines()
    problems: list[str] = []
    events: list[dict] = []
    prev = "0" * 64
    for n, line in enumerate(raw, 1):
        try:
            event = json.loads(line)
        except ValueError:
            problems.append(f"events.jsonl line {n}: not JSON (edited or truncated)")
            prev = hashlib.sha256(line).hexdigest()
            continue
        if event.get("seq") != n:
            problems.append(f"events.jsonl line {n}: sequence number {event.get('seq')} "
                            f"where {n} belongs (events removed or reordered)")
        if event.get("prev") != prev:
            problems.append(f"events.jsonl line {n}: the hash chain breaks here (the line "
                            "before it was changed, removed or inserted)")
        prev = hashlib.sha256(line).hexdigest()
        events.append(event)
    if not events or (events[0].get("step"), events[0].get("kind")) != ("session", "start"):
        problems.append("the record does not begin with the session start")
    if not still_open and _end(events) is None:
        problems.append("the record has no end: the command was interrupted, or the end "
                        "was cut off")
    recorded = set()
    art_dir = session_dir / "artifacts"
    for event in events:
        if event.get("kind") != "artifact":
            continue
        name = event["data"].get("name", "")
        recorded.add(name)
        path = art_dir / name
        if not path.is_file():
            problems.append(f"artifact {name} is missing")
            continue
        own = written.get(name)
        if own is not None and own[0] == event["data"].get("sha256"):
            st = path.stat()
            if (st.st_size, st.st_mtime_ns) == own[1:]:
                continue
        body = path.read_bytes()
        if hashlib.sha256(body).hexdigest() != event["data"].get("sha256"):
            problems.append(f"artifact {name} does not match the sha256 recorded for it")
        if _has_unmasked_secret(body):
            problems.append(f"artifact {name} holds an unmasked `secret` statement")
    if art_dir.is_dir():
        for path in sorted(art_dir.iterdir()):
            if path.name not in recorded and not path.name.startswith("."):
                problems.append(f"artifacts/{path.name} was not recorded by the session")
    return events, problems


def _has_unmasked_secret(body: bytes) -> bool:
    # The regex runs only where the word occurs: scanning megabytes of config for it from
    # every position would cost more than the rest of a campus-sized `plan`. It matches the
    # bytes as they are (dhcpd's whitespace is ASCII), so nothing is decoded.
    lowered = body.lower()
    pos = lowered.find(b"secret")
    while pos != -1:
        if _UNMASKED.match(body, pos):
            return True
        pos = lowered.find(b"secret", pos + 6)
    return False


# -- report -------------------------------------------------------------------------------

def _when(event: dict) -> str:
    return event.get("ts", "")[11:23]


def _summary_rows(events: list[dict], still_open: bool,
                  plans: list[tuple[int, str]]) -> list[tuple[str, str]]:
    start = next((e for e in events if e["kind"] == "start"), {})
    end = _end(events)
    if end:
        ended, status = end["ts"], end["data"].get("status", "?")
    elif still_open:
        ended, status = "not yet (the session was still open)", "in progress"
    else:
        ended, status = "never (interrupted or cut off)", "incomplete"
    rows = [("command", f"dhcp-wizard {start.get('data', {}).get('command', '?')}"),
            ("version", str(start.get("data", {}).get("version", "?"))),
            ("started", start.get("ts", "?")),
            ("ended", ended),
            ("status", status)]
    if plans:
        rows.append(("plans", "; ".join(f"plan {n}: {fate}" for n, fate in plans)))
    for e in events:
        if e["step"] == "inspect" and e["kind"] == "host":
            d = e["data"]
            rows.append((f"{e['host']}", f"{d.get('address')} — {d.get('config')} "
                         f"({d.get('config_source')}), leases {d.get('leases')}, "
                         f"restart `{d.get('restart')}`"))
    drill = next((e for e in reversed(events) if e["step"] == "drill" and e["kind"] == "result"),
                 None)
    if drill:
        rows.append(("drill", drill["data"].get("summary", "")))
    return rows


# How an apply ended, by the kind of its last event (wizard.ops.transaction and the TUI's engine).
_OUTCOMES = {"committed": "applied (committed: both peers normal on it)",
             "rolled-back": "applied, then rolled back",
             "aborted": "apply aborted before anything was switched",
             "no-op": "nothing to apply: both servers already ran it",
             "unchanged": "nothing to apply: both servers already ran it"}


def _plan_fates(events: list[dict]) -> list[tuple[int, str]]:
    """(number, what became of it) for every numbered plan. An apply works on the plan made
    last before it: the TUI plans again each time Review is reached and applies the newest."""
    fates: dict[int, str] = {}
    current = None
    for e in events:
        if e["step"] == "plan" and e["kind"] == "plan" and "plan" in e["data"]:
            current = e["data"]["plan"]
            fates[current] = "not applied"
        elif e["step"] == "apply" and current is not None:
            if e["kind"] in _OUTCOMES:
                fates[current] = _OUTCOMES[e["kind"]]
            elif fates[current] == "not applied":
                fates[current] = "apply started; no outcome recorded"
    return sorted(fates.items())


def _artifact_rows(arts: list[dict]) -> list[list[str]]:
    return [[e["data"]["name"], e["host"] or "", e["data"].get("path", ""), e["data"]["sha256"]]
            for e in arts]


def _sections(events: list[dict],
              plans: list[tuple[int, str]]) -> list[tuple[str, list[str], list[list[str]]]]:
    out = []
    checks = [e for e in events if e["step"] == "check" and e["kind"] == "result"]
    if checks:
        out.append(("Checks", ["status", "check", "host", "detail"],
                    [[e["data"]["status"], e["data"]["id"], e["host"] or "pair",
                      e["data"]["detail"]] for e in checks]))
    arts = [e for e in events if e["kind"] == "artifact"]
    head = ["file", "host", "path", "sha256"]
    for n, fate in plans:
        mine = [e for e in arts if e["data"].get("plan") == n]
        out.append((f"Plan {n} of {len(plans)}: {fate}",
                    head, _artifact_rows(mine)))
    rest = [e for e in arts if e["data"].get("plan") not in dict(plans)]
    if rest:
        # Artifacts of no numbered plan: another caller's, or a session recorded before
        # plans were numbered.
        out.append(("Configurations (before and after)", head, _artifact_rows(rest)))
    apply = [e for e in events if e["step"] == "apply"]
    if apply:
        out.append(("Apply", ["time", "host", "step", "what"],
                    [[_when(e), e["host"] or "pair", e["kind"],
                      e["data"].get("message") or e["data"].get("reason")
                      or (f"{e['data'].get('before')} -> {e['data'].get('after')}"
                          if e["kind"] == "state" else "")] for e in apply]))
    drill = [e for e in events if e["step"] == "drill"]
    if drill:
        out.append(("Failover drill", ["time", "host", "step", "what"],
                    [[_when(e), e["host"] or "pair", e["kind"],
                      e["data"].get("detail") or e["data"].get("summary")
                      or f"{e['data'].get('before')} -> {e['data'].get('after')}"]
                     for e in drill]))
    commands = [e for e in events if e["step"] == "ssh" and e["kind"] == "command"]
    if commands:
        out.append(("Commands run on the servers", ["time", "host", "exit", "s", "command"],
                    [[_when(e), e["host"] or "", str(e["data"].get("exit_code")),
                      f"{e['data'].get('duration', 0):.2f}",
                      (e["data"].get("label") or "") + ": " + e["data"].get("command", "")[:160]]
                     for e in commands]))
    return out


def report(session_dir: str | Path, *, still_open: bool = False,
           written: dict[str, tuple[str, int, int]] | None = None) -> tuple[Path, Path]:
    """still_open: written while the session records (step 10 of the TUI); its end writes
    the report again, so a report still saying so belongs to a session that never ended."""
    session_dir = Path(session_dir)
    events, problems = verify(session_dir, still_open=still_open, written=written)
    plans = _plan_fates(events)
    rows = _summary_rows(events, still_open, plans)
    sections = _sections(events, plans)
    if problems:
        integrity = "PROBLEMS: " + "; ".join(problems)
    elif still_open:
        integrity = ("untampered so far (hash chain and artifact hashes verified); written "
                     "while the session was open: its end rewrites this report, so if this "
                     "line remains, the session was cut off")
    else:
        integrity = "complete and untampered (hash chain and artifact hashes verified)"
    generated = datetime.now().astimezone().isoformat(timespec="seconds")

    md = ["# dhcp-wizard session report", "", f"Session: `{session_dir}`  ",
          f"Integrity: {integrity}  ", f"Generated: {generated}", "", "| | |", "|---|---|"]
    md += [f"| {k} | {_md(v)} |" for k, v in rows]
    for title, head, body in sections:
        md += ["", f"## {title}", "", "| " + " | ".join(head) + " |",
               "|" + "---|" * len(head)]
        md += ["| " + " | ".join(_md(c) for c in r) + " |" for r in body]
    md_path = session_dir / "report.md"
    # surrogateescape: a config's byte that is not UTF-8 (in a file name it quotes) is
    # written back as it was read, as the artifacts keep it.
    md_path.write_text("\n".join(md) + "\n", "utf-8", "surrogateescape")

    esc = _escape
    h = ["<!doctype html><html><head><meta charset='utf-8'><title>dhcp-wizard session report"
         "</title><style>body{font-family:sans-serif;margin:2em;max-width:75em}"
         "table{border-collapse:collapse;margin-bottom:1.5em}td,th{border:1px solid #bbb;"
         "padding:.25em .5em;text-align:left;vertical-align:top;font-size:90%}"
         ".fail{color:#b00}.pass{color:#070}</style></head><body>",
         "<h1>dhcp-wizard session report</h1>",
         f"<p>Session: <code>{esc(str(session_dir))}</code><br>Integrity: "
         f"<span class='{'pass' if not problems else 'fail'}'>{esc(integrity)}</span><br>"
         f"Generated: {esc(generated)}</p><table>"]
    h += [f"<tr><th>{esc(k)}</th><td>{esc(v)}</td></tr>" for k, v in rows]
    h.append("</table>")
    for title, head, body in sections:
        h.append(f"<h2>{esc(title)}</h2><table><tr>"
                 + "".join(f"<th>{esc(c)}</th>" for c in head) + "</tr>")
        for r in body:
            cls = " class='fail'" if r and r[0] == "fail" else ""
            h.append(f"<tr{cls}>" + "".join(f"<td>{esc(str(c))}</td>" for c in r) + "</tr>")
        h.append("</table>")
    h.append("</body></html>")
    html_path = session_dir / "report.html"
    html_path.write_text("\n".join(h) + "\n", "utf-8", "surrogateescape")
    return md_path, html_path


def _escape(text: str) -> str:
    """html.escape(text), without importing html and its entity tables at every session end."""
    return (text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            .replace('"', "&quot;").replace("'", "&#x27;"))


def _md(value) -> str:
    return str(value).replace("|", "\\|").replace("\n", " ")
