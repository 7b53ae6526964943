"""Group commit for the capture endpoint: one writer thread per server process.

A sampling table sends one swab at a time; at a megacity's peak that is hundreds of one-event
requests a second. A transaction each would spend most of the server on fixed costs (the
loads, the statements, the commit) and queue the rest behind one writer anyway. Instead every
capture request hands its events to this process's writer and waits; the writer takes
whatever requests are waiting, ingests them in one `ledger.ingest_batches` call under each
request's own device token, commits once, and only then answers each request. A request
still answers only after its events are durable, so a device that sees `accepted` may forget
the event.

If a shared transaction fails, its requests are retried one by one, so one bad request
cannot fail the others that happened to share its commit.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from tongxin.db import session_scope
from tongxin.screening.ledger import Answer, Batch, ingest_batches
from tongxin.screening.setup import scopes_for_tokens

log = logging.getLogger(__name__)

# Events one shared transaction takes at most; a larger group would hold every waiting
# device longer for little gain per event.
GROUP_EVENTS = 2000


class TokenRefused(Exception):
    """The request's bearer token is unknown, expired or revoked."""


class CaptureFailed(Exception):
    """The request's events could not be stored (the server logged why); it may be resent."""


@dataclass(frozen=True)
class CaptureRequest:
    """One capture request: the device's bearer token and its events as parsed JSON."""

    token: str
    events: Sequence[Any]


@dataclass
class Taken:
    """What the writer did with one request: its answers and when they were received."""

    answers: list[Answer]
    received_at: datetime


Outcome = Taken | TokenRefused | CaptureFailed


def write_group(factory: sessionmaker[Session], group: Sequence[CaptureRequest]) -> list[Outcome]:
    """Ingest a group of requests in one transaction; an outcome per request, in order.

    If the shared transaction fails, each request is written again on its own, so only the
    request that broke it fails.
    """
    try:
        return _commit(factory, group)
    except Exception:
        if len(group) == 1:
            log.exception("capture transaction failed")
            return [CaptureFailed()]
    return [write_group(factory, [request])[0] for request in group]


def _commit(factory: sessionmaker[Session], group: Sequence[CaptureRequest]) -> list[Outcome]:
    received_at = datetime.now(UTC)
    with session_scope(factory) as session:
        scopes = scopes_for_tokens(session, tokens={r.token for r in group}, now=received_at)
        allowed = [r for r in group if scopes.get(r.token) is not None]
        answers = ingest_batches(
            session,
            batches=[Batch(r.events, scopes[r.token]) for r in allowed],
            received_at=received_at,
        )
    by_request = {id(r): a for r, a in zip(allowed, answers, strict=True)}
    return [
        Taken(by_request[id(r)], received_at) if id(r) in by_request else TokenRefused()
        for r in group
    ]


@dataclass
class _Job:
    request: CaptureRequest
    done: Callable[[Outcome], None]


class CaptureWriter:
    """This process's one capture writer; started on first use, stopped with the app."""

    def __init__(self, factory: sessionmaker[Session], *, group_events: int = GROUP_EVENTS):
        self._factory = factory
        self._group_events = group_events
        self._jobs: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    async def submit(self, request: CaptureRequest) -> Taken:
        """Queue a request and wait until its events are committed; raise when refused."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Taken] = loop.create_future()

        def done(outcome: Outcome) -> None:
            loop.call_soon_threadsafe(_settle, future, outcome)

        self._ensure_started()
        self._jobs.put(_Job(request, done))
        return await future

    def stop(self) -> None:
        """Let the writer finish what is queued, then end its thread."""
        with self._lock:
            thread, self._thread = self._thread, None
        if thread is not None:
            self._jobs.put(None)
            thread.join(timeout=30)

    def _ensure_started(self) -> None:
        if self._thread is not None:
            return
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="tongxin-capture-writer", daemon=True
                )
                self._thread.start()

    def _run(self) -> None:
        while True:
            first = self._jobs.get()
            if first is None:
                return
            group = [first]
            size = len(first.request.events)
            stopping = False
            while size < self._group_events:
                try:
                    job = self._jobs.get_nowait()
                except queue.Empty:
                    break
                if job is None:
                    stopping = True
                    break
                group.append(job)
                size += len(job.request.events)
            outcomes = write_group(self._factory, [j.request for j in group])
            for job, outcome in zip(group, outcomes, strict=True):
                job.done(outcome)
            if stopping:
                return


def _settle(future: asyncio.Future[Taken], outcome: Outcome) -> None:
    if future.cancelled():
        return
    if isinstance(outcome, Taken):
        future.set_result(outcome)
    else:
        future.set_exception(outcome)
