"""The wizard in a browser, for real: `textual serve` (the README's command) on 127.0.0.1,
the page loaded in headless Chromium, and the text read back from the page's own terminal.

The page draws on a canvas (xterm.js), so neither --dump-dom nor a screenshot says what it
shows. The test talks to Chromium over the DevTools protocol instead: a breakpoint that
never pauses, in the page's `fit()`, hands over the xterm terminal, whose buffer holds
exactly the characters drawn. A screenshot is kept beside the test's files for people.

Skipped without chromium or textual-dev, except under DHCP_WIZARD_REQUIRE_BROWSER=1.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

BIN = Path(sys.executable).parent
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
TEXTUAL = BIN / "textual"
# Only 127.0.0.1: the page asks for a web font elsewhere, which must not leave the machine.
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run",
                  "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
                  "--window-size=1000,640", "--remote-debugging-address=127.0.0.1",
                  "--remote-debugging-port=0"]


def _missing() -> str | None:
    if CHROMIUM is None:
        return "no chromium on PATH (apt-get install chromium)"
    if not TEXTUAL.exists():
        return f"no {TEXTUAL} (textual-dev, in the test extra)"
    return None


pytestmark = pytest.mark.skipif(
    _missing() is not None and os.environ.get("DHCP_WIZARD_REQUIRE_BROWSER") != "1",
    reason=_missing() or "")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_http(url: str, proc: subprocess.Popen, timeout: float = 20) -> None:
    from urllib.request import urlopen

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, f"{proc.args} exited with {proc.returncode}"
        try:
            with urlopen(url, timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    raise AssertionError(f"{url} did not answer within {timeout} s")


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


class DevTools:
    """The few DevTools protocol calls the test needs, over one page's websocket."""

    def __init__(self, ws):
        self.ws, self.next_id, self.events = ws, 0, []

    async def call(self, method: str, **params):
        self.next_id += 1
        await self.ws.send_json({"id": self.next_id, "method": method, "params": params})
        while True:
            msg = await asyncio.wait_for(self.ws.receive_json(), 10)
            if msg.get("id") == self.next_id:
                assert "error" not in msg, msg
                return msg["result"]
            self.events.append(msg)

    async def value(self, expression: str):
        result = await self.call("Runtime.evaluate", expression=expression, returnByValue=True)
        return result["result"].get("value")


HAND_OVER = """function () {
  const fit = this.prototype.fit;
  this.prototype.fit = function () { window.__term = this.terminal; return fit.apply(this, arguments); };
}"""


async def hand_over_terminal(dt: DevTools) -> None:
    """Make the page's terminal reachable as window.__term: its class is found among the
    variables window.onresize closes over (the one whose instances fit() and connect()),
    fit() is wrapped to hand over its terminal, and a resize calls it."""
    fn = (await dt.call("Runtime.evaluate", expression="window.onresize"))["result"]
    props = await dt.call("Runtime.getProperties", objectId=fn["objectId"], ownProperties=True)
    scopes = next(p for p in props["internalProperties"] if p["name"] == "[[Scopes]]")
    scope_list = await dt.call("Runtime.getProperties", objectId=scopes["value"]["objectId"],
                               ownProperties=True)
    for scope in scope_list["result"]:
        if scope["value"].get("description") == "Global":
            continue
        names = await dt.call("Runtime.getProperties", objectId=scope["value"]["objectId"],
                              ownProperties=True)
        for var in names["result"]:
            value = var.get("value", {})
            if value.get("type") != "function":
                continue
            found = await dt.call("Runtime.callFunctionOn", objectId=value["objectId"],
                                  returnByValue=True, functionDeclaration="function () { "
                                  "return !!this.prototype && typeof this.prototype.fit === "
                                  "'function' && typeof this.prototype.connect === 'function'; }")
            if found["result"]["value"]:
                await dt.call("Runtime.callFunctionOn", objectId=value["objectId"],
                              functionDeclaration=HAND_OVER)
                await dt.value("window.onresize()")
                return
    raise AssertionError("the page's terminal class was not found")


SCREEN_TEXT = """(() => {
  const b = window.__term.buffer.active, rows = [];
  for (let i = 0; i < b.length; i++) rows.push(b.getLine(i).translateToString(true));
  return rows.join("\\n");
})()"""


async def read_page(devtools_port: int, url: str, shot: Path, timeout: float = 30) -> str:
    import aiohttp

    async with aiohttp.ClientSession() as http:
        async with http.get(f"http://127.0.0.1:{devtools_port}/json/list") as resp:
            page = next(t for t in await resp.json() if t["type"] == "page")
        async with http.ws_connect(page["webSocketDebuggerUrl"], max_msg_size=0) as ws:
            dt = DevTools(ws)
            await dt.call("Page.navigate", url=url)
            deadline = time.monotonic() + timeout
            # The page adds -first-byte once the wizard's output reached the terminal.
            while not await dt.value("!!document.body && "
                                     "document.body.classList.contains('-first-byte')"):
                assert time.monotonic() < deadline, "no output from the wizard reached the page"
                await asyncio.sleep(0.2)
            await hand_over_terminal(dt)
            text = ""
            while "Welcome to dhcp-wizard" not in text or "Set up failover" not in text:
                assert time.monotonic() < deadline, f"the page shows:\n{text}"
                await asyncio.sleep(0.2)
                text = await dt.value(f"window.__term ? {SCREEN_TEXT} : ''") or ""
            import base64

            shot.write_bytes(base64.b64decode(
                (await dt.call("Page.captureScreenshot", format="png"))["data"]))
            return text


def test_the_readmes_textual_serve_command_shows_the_wizard_in_a_browser(tmp_path):
    from wizard.answers import answers_from_dict, dump_answers

    assert _missing() is None, f"DHCP_WIZARD_REQUIRE_BROWSER=1, but {_missing()}"
    answers = tmp_path / "pair.toml"
    answers.write_text(dump_answers(answers_from_dict({
        "primary": {"host": "198.51.100.11", "user": "root"},
        "secondary": {"host": "198.51.100.12", "user": "root"},
        "failover": {"name": "browser-pair"}}, source=str(tmp_path / "pair.toml"))))
    port = free_port()
    started = time.monotonic()
    # As the README has it: -c, and the wizard named by its path in the virtualenv.
    server = subprocess.Popen(
        [str(TEXTUAL), "serve", "-h", "127.0.0.1", "-p", str(port), "-c",
         f"{BIN / 'dhcp-wizard'} --answers {answers} --session {tmp_path / 'session'}"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
    browser = None
    try:
        wait_http(f"http://127.0.0.1:{port}/", server)
        browser = subprocess.Popen([CHROMIUM, *CHROMIUM_FLAGS,
                                    f"--user-data-dir={tempfile.mkdtemp(dir=tmp_path)}",
                                    "about:blank"],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                                   start_new_session=True)
        devtools = None
        for line in browser.stderr:
            m = re.search(r"DevTools listening on ws://127\.0\.0\.1:(\d+)/", line)
            if m:
                devtools = int(m.group(1))
                break
        assert devtools, "chromium did not open its DevTools port"
        text = asyncio.run(read_page(devtools, f"http://127.0.0.1:{port}/",
                                     tmp_path / "browser.png"))
    finally:
        if browser is not None:
            stop(browser)
        stop(server)
    # The welcome screen, drawn in the page: its title, the pair it loaded, its button.
    assert "Welcome to dhcp-wizard" in text
    assert "root@198.51.100.11" in text and 'failover peer "browser-pair"' in text
    assert (tmp_path / "browser.png").stat().st_size > 10_000
    print(f"browser route: {time.monotonic() - started:.1f} s; screenshot "
          f"{tmp_path / 'browser.png'}")
