"""Telling supervisors: the Notifier interface and a group-robot webhook that speaks it.

The webhook speaks the WeChat Work group robot's format (a JSON POST of
`{"msgtype": "text", "text": {"content": ...}}`, answered by `{"errcode": 0, ...}`), which
DingTalk and Feishu robots accept in nearly the same shape. Tests run it against a local
HTTP server that answers the same way.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Protocol


class NotifyError(RuntimeError):
    """A message could not be delivered."""


@dataclass(frozen=True)
class Message:
    """A short text for the people watching a board."""

    title: str
    lines: tuple[str, ...]

    def text(self) -> str:
        return "\n".join((self.title, *self.lines))


class Notifier(Protocol):
    """Something that delivers a message to supervisors, or raises NotifyError."""

    def send(self, message: Message) -> None: ...


class NoNotifier:
    """Deliver nothing: escalations then show on the board only (no webhook configured)."""

    def send(self, message: Message) -> None:
        return None


class WebhookNotifier:
    """POST messages to a group-robot webhook (WeChat Work style JSON)."""

    def __init__(self, url: str, *, timeout_s: float = 5) -> None:
        if not url.startswith(("http://", "https://")):
            raise ValueError("the webhook URL must be http:// or https://")
        self._url = url
        self._timeout_s = timeout_s

    def send(self, message: Message) -> None:
        body = json.dumps(
            {"msgtype": "text", "text": {"content": message.text()}}, ensure_ascii=False
        ).encode("utf-8")
        request = urllib.request.Request(
            self._url,
            data=body,
            method="POST",
            headers={"Content-Type": "application/json; charset=utf-8"},
        )
        try:
            with urllib.request.urlopen(request, timeout=self._timeout_s) as answer:
                reply = json.loads(answer.read() or b"{}")
        except (urllib.error.URLError, TimeoutError, ValueError, OSError) as exc:
            raise NotifyError(f"webhook not reached: {exc}") from exc
        # The robot answers 200 with errcode != 0 when it refuses (bad key, too many messages).
        if reply.get("errcode", 0) != 0:
            raise NotifyError(f"webhook refused: {reply.get('errmsg', reply)}")


def notifier_from(url: str, timeout_s: float) -> Notifier:
    """Return the webhook notifier for a configured URL, or one that sends nothing."""
    return WebhookNotifier(url, timeout_s=timeout_s) if url else NoNotifier()
