"""yaml-language-server, installed from the npm registry at the version pinned in
``tests/support/editor`` and driven over LSP stdio the way an editor drives it: initialize,
open a document, answer the server's configuration requests, read the diagnostics it
publishes."""

from __future__ import annotations

import json
import queue
import shutil
import subprocess
import threading
import time
from pathlib import Path
from typing import IO, Any

ROOT = Path(__file__).resolve().parents[2]
PINNED = ROOT / "tests" / "support" / "editor"
INSTALL = ROOT / ".tools" / "editor"
SETTINGS = {"validate": True, "hover": True, "completion": True, "schemaStore": {"enable": False}}


def install() -> Path:
    """The server's executable, installed with ``npm ci`` from the committed lock once (kept
    in the git-ignored ``.tools``)."""
    binary = INSTALL / "node_modules" / ".bin" / "yaml-language-server"
    lock = (PINNED / "package-lock.json").read_text()
    installed = INSTALL / "package-lock.json"
    if binary.exists() and installed.exists() and installed.read_text() == lock:
        return binary
    npm = shutil.which("npm")
    assert npm, "the editor test needs Node.js and npm (the machine's own) to install its server"
    INSTALL.mkdir(parents=True, exist_ok=True)
    for name in ("package.json", "package-lock.json"):
        shutil.copyfile(PINNED / name, INSTALL / name)
    done = subprocess.run(
        [npm, "ci", "--no-audit", "--no-fund", "--ignore-scripts"],
        cwd=INSTALL,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    return binary


class LanguageServer:
    """One server process over stdio; ``diagnostics(path)`` is what an editor would underline."""

    def __init__(self, binary: Path, root: Path) -> None:
        self.process = subprocess.Popen(
            [str(binary), "--stdio"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )
        self.messages: queue.Queue[dict[str, Any]] = queue.Queue()
        self._next_id = 0
        assert self.process.stdout is not None
        threading.Thread(target=self._read, args=(self.process.stdout,), daemon=True).start()
        self.request(
            "initialize",
            {
                "processId": None,
                "rootUri": root.as_uri(),
                "capabilities": {
                    "workspace": {"configuration": True},
                    "textDocument": {"publishDiagnostics": {}},
                },
            },
        )
        self.notify("initialized", {})
        self.notify("workspace/didChangeConfiguration", {"settings": {"yaml": SETTINGS}})

    def diagnostics(self, document: Path, timeout: float = 60) -> list[dict[str, Any]]:
        """Open ``document`` and wait for the diagnostics the server publishes for it."""
        uri = document.resolve().as_uri()
        self.notify(
            "textDocument/didOpen",
            {
                "textDocument": {
                    "uri": uri,
                    "languageId": "yaml",
                    "version": 1,
                    "text": document.read_text(),
                }
            },
        )
        deadline = time.monotonic() + timeout
        while True:
            message = self._next(deadline)
            published = message.get("method") == "textDocument/publishDiagnostics"
            if published and message["params"]["uri"] == uri:
                return list(message["params"]["diagnostics"])

    def request(self, method: str, params: dict[str, Any], timeout: float = 60) -> Any:
        self._next_id += 1
        ident = self._next_id
        self._send({"jsonrpc": "2.0", "id": ident, "method": method, "params": params})
        deadline = time.monotonic() + timeout
        while True:
            message = self._next(deadline)
            if message.get("id") == ident and "method" not in message:
                return message.get("result")

    def notify(self, method: str, params: dict[str, Any]) -> None:
        self._send({"jsonrpc": "2.0", "method": method, "params": params})

    def close(self) -> None:
        self.process.kill()
        self.process.wait(timeout=10)

    def _next(self, deadline: float) -> dict[str, Any]:
        """The next message that is not a request from the server (those are answered here)."""
        while True:
            remaining = deadline - time.monotonic()
            assert remaining > 0, "the language server did not answer in time"
            try:
                message = self.messages.get(timeout=remaining)
            except queue.Empty:
                continue
            if "method" in message and "id" in message:
                self._answer(message)
                continue
            return message

    def _answer(self, request: dict[str, Any]) -> None:
        result: Any = None
        if request["method"] == "workspace/configuration":
            result = [
                SETTINGS if item.get("section") == "yaml" else {}
                for item in request["params"]["items"]
            ]
        self._send({"jsonrpc": "2.0", "id": request["id"], "result": result})

    def _send(self, message: dict[str, Any]) -> None:
        assert self.process.stdin is not None
        body = json.dumps(message).encode()
        self.process.stdin.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
        self.process.stdin.flush()

    def _read(self, stream: IO[bytes]) -> None:
        while True:
            headers: dict[str, str] = {}
            while True:
                line = stream.readline()
                if not line:
                    return
                text = line.decode().strip()
                if not text:
                    break
                key, value = text.split(":", 1)
                headers[key.lower()] = value.strip()
            self.messages.put(json.loads(stream.read(int(headers["content-length"]))))
