"""The demo's local mail sink (development mode only): an SMTP server on 127.0.0.1 (aiosmtpd) that
writes every message it receives as an .eml file under `<files_dir>/mail/`, named after its
Message-ID, so that a message delivered twice (the outbox's at-least-once window) is one file.

The demo delivers its outbox to it every simulated day through `deliver_pending`, the same
delivery the outbox flow runs against a real server. Nothing leaves the machine."""
from __future__ import annotations

import re
import socket
from email.parser import BytesHeaderParser
from pathlib import Path
from typing import Any

from workflows.mail import SmtpSettings

LOOPBACK = "127.0.0.1"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind((LOOPBACK, 0))
        return int(probe.getsockname()[1])


class _Writer:
    def __init__(self, folder: Path) -> None:
        self.folder = folder

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        content: bytes = envelope.original_content or envelope.content
        message_id = BytesHeaderParser().parsebytes(content).get("Message-ID", "") or f"no-id-{len(content)}"
        name = re.sub(r"[^A-Za-z0-9._-]", "", message_id.strip("<>")) or "message"
        path = self.folder / f"{name}.eml"
        tmp = path.with_suffix(".eml.part")
        tmp.write_bytes(content)
        tmp.replace(path)
        return "250 OK: written to the demo's mail folder"


class MailSink:
    """Start with `start()`; `smtp` then points at it; `stop()` ends it."""

    def __init__(self, files_dir: Path, sender: str) -> None:
        self.folder = Path(files_dir).resolve() / "mail"
        self.port = _free_port()
        self.smtp = SmtpSettings(host=LOOPBACK, port=self.port, timeout=10.0, sender=sender)
        self._controller: Any = None

    def start(self) -> MailSink:
        from aiosmtpd.controller import Controller

        self.folder.mkdir(parents=True, exist_ok=True)
        self._controller = Controller(_Writer(self.folder), hostname=LOOPBACK, port=self.port)
        self._controller.start()
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def count(self) -> int:
        return sum(1 for _ in self.folder.glob("*.eml"))
