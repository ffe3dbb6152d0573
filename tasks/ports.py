"""What a service task may ask of the outside world. `workflows` implements these over the database;
`tasks` only sees the protocols (dependencies point rules ← tasks ← workflows)."""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, Protocol


class ServiceContext(Protocol):
    """Handed to every service function by the engine, for the instance being advanced."""

    instance_id: int
    process_id: str
    programme: Any  # workflows.programme.Programme: the programme records (facts in, decisions out)

    def now(self) -> datetime: ...

    def notify(self, template: str, to: Sequence[str], context: Mapping[str, Any], key: str) -> None:
        """Queue an email in the outbox, once per `key`."""

    def audit(self, action: str, subject: str | None = None, before: Any = None, after: Any = None) -> None:
        """Append an audit event attributed to the system for this instance."""

    def send_message(self, subject_type: str, subject_id: int, name: str, payload: Mapping[str, Any]) -> None:
        """Deliver a BPMN message to another instance once this step is saved (same transaction)."""
