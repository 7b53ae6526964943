"""Run `tongxin serve` as a subprocess, and send it capture batches the way devices do.

Used by `tongxin bench ingest` and by the crash test, which kills the server with SIGKILL
and starts it again while a client keeps resending what was not acknowledged.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy.engine import Engine

from tongxin.db import settings_of

CAPTURE_PATH = "/api/v1/capture/events"


def free_port() -> int:
    """Return a TCP port nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def tongxin_command() -> list[str]:
    """Return the command that runs this installation's `tongxin` CLI."""
    script = Path(sys.executable).parent / "tongxin"
    if script.exists():
        return [str(script)]
    return [sys.executable, "-c", "from tongxin.cli import main; main()"]


def key_env(engine: Engine) -> dict[str, str]:
    """Return the environment that gives a server subprocess this engine's personal-data keys.

    Bench databases make their own throw-away keys (`privacy.keys.scratch_settings`); a
    server on the same database must read ID numbers with the same ones.
    """
    settings = settings_of(engine.dialect)
    if settings is None:
        return {}
    env = {"TONGXIN_PII_KEYS": settings.pii_keys, "TONGXIN_PII_LOOKUP_KEY": settings.pii_lookup_key}
    return {name: value for name, value in env.items() if value}


@dataclass
class Server:
    """A `tongxin serve` subprocess on a database URL, restartable after a kill."""

    database_url: str
    workers: int = 1
    port: int = field(default_factory=free_port)
    extra_env: Mapping[str, str] = field(default_factory=dict)
    process: subprocess.Popen[bytes] | None = None
    starts: int = 0
    log: Path | None = None  # where the server's stderr goes (kept for error messages)

    @property
    def base_url(self) -> str:
        """Return the server's base URL."""
        return f"http://127.0.0.1:{self.port}"

    def start(self, *, timeout: float = 60.0) -> None:
        """Start the server and wait until /healthz answers."""
        env = {
            **os.environ,
            **self.extra_env,
            "TONGXIN_DATABASE_URL": self.database_url,
            "TONGXIN_HOST": "127.0.0.1",
            "TONGXIN_PORT": str(self.port),
            "TONGXIN_WORKERS": str(self.workers),
        }
        # Its own process group, so a kill reaches the uvicorn supervisor and its workers.
        if self.log is None:
            handle, name = tempfile.mkstemp(prefix="tongxin-serve-", suffix=".log")
            os.close(handle)
            self.log = Path(name)
        with self.log.open("ab") as err:
            self.process = subprocess.Popen(
                [*tongxin_command(), "serve"],
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=err,
                start_new_session=True,
            )
        self.starts += 1
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"tongxin serve exited with {self.process.returncode}: {self.log_tail()}"
                )
            try:
                if httpx.get(self.base_url + "/healthz", timeout=1.0).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        self.kill()
        raise RuntimeError("tongxin serve did not answer /healthz in time")

    def log_tail(self, chars: int = 2000) -> str:
        """Return the end of the server's stderr."""
        if self.log is None or not self.log.exists():
            return ""
        return self.log.read_text(encoding="utf-8", errors="replace")[-chars:]

    def kill(self) -> None:
        """SIGKILL the server and its workers (a crash, not a shutdown)."""
        if self.process is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()
        self.process = None

    def stop(self) -> None:
        """Shut the server down politely (killing it after a few seconds) and drop its log."""
        if self.process is not None:
            try:
                os.killpg(self.process.pid, signal.SIGTERM)
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()
            except ProcessLookupError:
                pass
            self.process = None
        if self.log is not None:
            self.log.unlink(missing_ok=True)
            self.log = None


def post_batch(
    client: httpx.Client, *, token: str, events: Sequence[Mapping[str, Any]]
) -> list[dict[str, Any]]:
    """POST one capture batch; return the per-event answers or raise on a failed request."""
    return post_body(client, token=token, body=json.dumps(list(events)).encode(), sent=len(events))


def post_body(client: httpx.Client, *, token: str, body: bytes, sent: int) -> list[dict[str, Any]]:
    """POST a batch already encoded as a JSON array of `sent` events; return the answers."""
    response = client.post(
        CAPTURE_PATH,
        content=body,
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    response.raise_for_status()
    results: list[dict[str, Any]] = response.json()["results"]
    if len(results) != sent:
        raise RuntimeError(f"{sent} events sent, {len(results)} answers")
    return results


class KeepAlivePool:
    """A minimal HTTP/1.1 client over asyncio streams: `size` keep-alive connections.

    The open-loop latency check needs a client far cheaper than the server it measures:
    on a 2-core machine httpx's async client spent more CPU per request than the endpoint
    and its own queue showed up as server latency (p99 in seconds for a bare /healthz).
    """

    def __init__(self, host: str, port: int, size: int) -> None:
        self.host = host
        self.port = port
        self.size = size
        self.free: asyncio.Queue[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = (
            asyncio.Queue()
        )

    async def open(self) -> None:
        """Open every connection before the clock starts, as long-lived devices have them."""
        for _ in range(self.size):
            self.free.put_nowait(await asyncio.open_connection(self.host, self.port))

    async def request(
        self, method: str, path: str, *, body: bytes = b"", headers: Mapping[str, str] = {}
    ) -> tuple[int, bytes]:
        """Send one request on a free connection; return the status and the body."""
        reader, writer = await self.free.get()
        try:
            head = [f"{method} {path} HTTP/1.1", f"Host: {self.host}"]
            head.append(f"Content-Length: {len(body)}")
            if body:
                head.append("Content-Type: application/json")
            head += [f"{name}: {value}" for name, value in headers.items()]
            writer.write(("\r\n".join(head) + "\r\n\r\n").encode() + body)
            status = int((await reader.readline()).split()[1])
            length = 0
            while (line := await reader.readline()) not in (b"\r\n", b""):
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value)
            return status, await reader.readexactly(length)
        finally:
            self.free.put_nowait((reader, writer))

    async def close(self) -> None:
        """Close every connection."""
        while not self.free.empty():
            _reader, writer = self.free.get_nowait()
            writer.close()
