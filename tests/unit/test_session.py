"""The session record: flushed event by event, hash-chained, secrets never written."""

from __future__ import annotations

import hashlib
import json
import os

from wizard.record.session import MASK, Session, read_events


def test_events_are_on_disk_before_close(tmp_path):
    s = Session.create(tmp_path / "s", command="test")
    s.event("servers", "ssh-connect", host="primary", address="198.51.100.11")
    lines = (tmp_path / "s" / "events.jsonl").read_text().splitlines()
    assert len(lines) == 2  # start + ours, without closing the session
    ev = json.loads(lines[1])
    assert (ev["step"], ev["kind"], ev["host"]) == ("servers", "ssh-connect", "primary")
    assert ev["data"] == {"address": "198.51.100.11"} and ev["ts"].endswith("Z")
    s.close()


def test_chain_links_each_event_to_the_previous_line(tmp_path):
    with Session.create(tmp_path / "s", command="test") as s:
        s.event("a", "x")
        s.event("b", "y")
    raw = (tmp_path / "s" / "events.jsonl").read_bytes().splitlines()
    events = [json.loads(line) for line in raw]
    assert events[0]["prev"] == "0" * 64
    for line, ev in zip(raw, events[1:]):
        assert ev["prev"] == hashlib.sha256(line).hexdigest()
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
    assert events[-1]["kind"] == "end"


def test_reopened_session_continues_the_chain(tmp_path):
    Session.create(tmp_path / "s", command="one").close()
    s = Session.create(tmp_path / "s", command="two")
    s.event("c", "z")
    s.close()
    events = read_events(tmp_path / "s")
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
    assert sum(e["kind"] == "start" for e in events) == 1


def test_an_answers_section_in_an_event_is_recorded_by_field_name(tmp_path):
    # Answers sections are named tuples: recorded as a bare list, the event would lose which
    # value is which (and a reader could not tell a port from a timeout).
    from wizard.answers import OmapiAnswers

    s = Session.create(tmp_path / "s", command="test")
    s.event("review", "omapi", section=OmapiAnswers(port=7911, key_name="k"))
    s.close()
    got = [e for e in read_events(tmp_path / "s") if e["kind"] == "omapi"][0]["data"]
    assert got["section"]["port"] == 7911 and got["section"]["key_name"] == "k"


def test_registered_secret_never_reaches_events_or_artifacts(tmp_path):
    secret = "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0"
    s = Session.create(tmp_path / "s", command="test")
    s.redactor.add(secret)
    s.event("review", "key", note=f"key is {secret}", nested={"list": [secret]})
    conf = ('key omapi_key {\n  algorithm hmac-md5;\n  secret "other-secret-value";\n};\n'
            f"# {secret}\n")
    path = s.artifact("primary.after.conf", conf, step="plan", host="primary")
    s.close()
    on_disk = (tmp_path / "s" / "events.jsonl").read_text() + path.read_text()
    assert secret not in on_disk and "other-secret-value" not in on_disk
    assert MASK in path.read_text() and "algorithm hmac-md5;" in path.read_text()
    assert oct(os.stat(path).st_mode & 0o777) == "0o600"


def test_artifact_hash_is_recorded(tmp_path):
    s = Session.create(tmp_path / "s", command="test")
    path = s.artifact("before.conf", "subnet 198.51.100.0 netmask 255.255.255.0 {}\n",
                      step="plan", host="secondary")
    s.close()
    ev = [e for e in read_events(tmp_path / "s") if e["kind"] == "artifact"][0]
    assert ev["data"]["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    assert ev["data"]["name"] == "before.conf" and ev["host"] == "secondary"


def test_default_location_is_the_user_data_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    s = Session.create(command="test")
    s.close()
    assert s.path.parent == tmp_path / "dhcp-wizard" / "sessions"


def test_scrub_masks_registered_and_free_standing_secrets():
    from wizard.record.redaction import Redactor, scrub

    Redactor().add("registered-secret-value")
    text = ("ValueError: bad key: secret AbCdEf0123==, then 'registered-secret-value' "
            'and secret "quoted one" here')
    out = scrub(text)
    assert "AbCdEf0123" not in out and "registered-secret-value" not in out
    assert "quoted one" not in out and out.startswith("ValueError: bad key: secret ")


def test_a_large_text_masked_again_after_a_new_secret_is_masked_with_it():
    from wizard.record.redaction import MASK, Redactor

    r = Redactor()
    r.add("first-secret-value")
    text = "x" * 70_000 + " first-secret-value second-secret-value\n  secret ABCDEF12;\n"
    once = r.text(text)
    assert r.text(text) is once      # the same text, nothing new: masked once
    r.add("second-secret-value")
    again = r.text(text)
    assert "second-secret-value" not in again and "first-secret-value" not in again
    assert again.count(MASK) == 3 and "ABCDEF12" not in again
    other = text.replace("x", "y")   # another text of the same length is masked for itself
    assert r.text(other).startswith("y") and "first-secret-value" not in r.text(other)


def test_large_texts_masked_in_turn_are_each_masked_once():
    from wizard.record.redaction import MASK, Redactor

    r = Redactor()
    r.add("first-secret-value")
    before, after = ("x" * 70_000 + f" first-secret-value {n}\n" for n in (1, 2))
    masked = [r.text(before), r.text(after)]
    assert r.text(before) is masked[0] and r.text(after) is masked[1]
    assert all(m.count(MASK) == 1 for m in masked)


def test_one_text_stored_twice_is_hashed_for_what_each_file_holds(tmp_path):
    # The second copy is written after a new secret is known: it is masked with it, and the
    # hash recorded is that of its own bytes, not the first copy's.
    text = "y" * 70_000 + " later-secret-value\n"
    with Session.create(tmp_path / "s") as s:
        first = s.artifact("first.conf", text, step="plan")
        s.redactor.add("later-secret-value")
        second = s.artifact("second.conf", text, step="plan")
        third = s.artifact("third.conf", text, step="plan")
    hashes = {e["data"]["name"]: e["data"]["sha256"] for e in read_events(tmp_path / "s")
              if e["kind"] == "artifact"}
    for path in (first, second, third):
        assert hashes[path.name] == hashlib.sha256(path.read_bytes()).hexdigest()
    assert b"later-secret-value" in first.read_bytes()
    assert b"later-secret-value" not in second.read_bytes() and MASK.encode() in second.read_bytes()
    assert third.read_bytes() == second.read_bytes()
