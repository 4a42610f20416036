"""Debian's chromium, headless and kept off the network, driven over the DevTools protocol on a pipe
(`--remote-debugging-pipe`: NUL-terminated JSON on fds 3 and 4), so the test needs no client library.

`open_page(path)` loads a local file and returns what a person would have met: console errors, every request
the page made, the value of a JavaScript expression evaluated on it, and optionally a PNG of the whole page.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import select
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

CHROMIUM = Path("/usr/bin/chromium")
OFFLINE_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--disable-extensions",
    # belt and braces: a name the page asked for would not resolve
    "--host-resolver-rules=MAP * ~NOTFOUND",
)
TIMEOUT = 60.0


@dataclass
class PageVisit:
    errors: list[str] = field(default_factory=list)  # console errors, exceptions, error log entries
    requests: list[str] = field(default_factory=list)  # every URL the page requested, itself included
    value: object = None  # what the expression evaluated to
    screenshot: bytes | None = None


class _Pipe:
    def __init__(self, send_fd: int, receive_fd: int) -> None:
        self.send_fd, self.receive_fd = send_fd, receive_fd
        self.buffer = b""
        self.next_id = 0
        self.events: list[dict] = []

    def _read_message(self, deadline: float) -> dict:
        while b"\0" not in self.buffer:
            ready, _, _ = select.select([self.receive_fd], [], [], max(0.0, deadline - time.monotonic()))
            if not ready:
                raise TimeoutError("chromium did not answer in time")
            chunk = os.read(self.receive_fd, 1 << 20)
            if not chunk:
                raise ConnectionError("chromium closed the DevTools pipe")
            self.buffer += chunk
        message, self.buffer = self.buffer.split(b"\0", 1)
        return json.loads(message)

    def call(self, method: str, params: dict | None = None, session: str | None = None) -> dict:
        self.next_id += 1
        message = {"id": self.next_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        os.write(self.send_fd, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + TIMEOUT
        while True:
            answer = self._read_message(deadline)
            if answer.get("id") == self.next_id:
                if "error" in answer:
                    raise RuntimeError(f"{method}: {answer['error']}")
                return answer.get("result", {})
            self.events.append(answer)

    def wait_for(self, method: str) -> dict:
        deadline = time.monotonic() + TIMEOUT
        for event in self.events:
            if event.get("method") == method:
                return event
        while True:
            event = self._read_message(deadline)
            self.events.append(event)
            if event.get("method") == method:
                return event


def chromium_missing() -> str | None:
    """Why the browser tests cannot run here, or None."""
    if not CHROMIUM.exists() and shutil.which("chromium") is None:
        return f"{CHROMIUM} is not installed (apt-get install -y chromium)"
    return None


def open_page(path: Path, expression: str, *, screenshot_width: int | None = None) -> PageVisit:
    """Load `path` in headless chromium, evaluate `expression` (its JSON value is returned) and collect errors
    and requests; with `screenshot_width`, a PNG of the whole page at that width."""
    send_read, send_write = os.pipe()
    receive_read, receive_write = os.pipe()

    def wire_pipes() -> None:  # in the child: the DevTools pipe is fds 3 (commands) and 4 (answers)
        os.dup2(send_read, 3)
        os.dup2(receive_write, 4)

    with tempfile.TemporaryDirectory(prefix="linksweep-chromium-") as profile:
        browser = subprocess.Popen(
            [str(CHROMIUM if CHROMIUM.exists() else shutil.which("chromium")), *OFFLINE_FLAGS,
             f"--user-data-dir={profile}", "--remote-debugging-pipe", "about:blank"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            preexec_fn=wire_pipes, pass_fds=(3, 4),
        )  # fmt: skip
        os.close(send_read)
        os.close(receive_write)
        pipe = _Pipe(send_write, receive_read)
        try:
            return _visit(pipe, path, expression, screenshot_width)
        finally:
            with contextlib.suppress(OSError, RuntimeError, TimeoutError, ConnectionError):
                pipe.call("Browser.close")
            os.close(send_write)
            os.close(receive_read)
            try:
                browser.wait(timeout=20)
            except subprocess.TimeoutExpired:
                browser.kill()
                browser.wait()


def _visit(pipe: _Pipe, path: Path, expression: str, screenshot_width: int | None) -> PageVisit:
    target = pipe.call("Target.createTarget", {"url": "about:blank"})["targetId"]
    session = pipe.call("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
    for domain in ("Page", "Runtime", "Log", "Network"):
        pipe.call(f"{domain}.enable", session=session)
    if screenshot_width:
        pipe.call(
            "Emulation.setDeviceMetricsOverride",
            {"width": screenshot_width, "height": 800, "deviceScaleFactor": 1, "mobile": False},
            session=session,
        )
    pipe.events.clear()
    pipe.call("Page.navigate", {"url": path.resolve().as_uri()}, session=session)
    pipe.wait_for("Page.loadEventFired")
    result = pipe.call(
        "Runtime.evaluate", {"expression": expression, "returnByValue": True}, session=session
    )  # fmt: skip
    visit = PageVisit(value=result.get("result", {}).get("value"))
    if screenshot_width:
        shot = pipe.call("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True}, session=session)
        visit.screenshot = base64.b64decode(shot["data"])
    for event in pipe.events:
        method, params = event.get("method"), event.get("params", {})
        if method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
            visit.errors.append(json.dumps(params.get("args")))
        elif method == "Runtime.exceptionThrown":
            visit.errors.append(json.dumps(params.get("exceptionDetails")))
        elif method == "Log.entryAdded" and params.get("entry", {}).get("level") == "error":
            visit.errors.append(params["entry"].get("text", ""))
        elif method == "Network.requestWillBeSent":
            visit.requests.append(params["request"]["url"])
    return visit
