"""Decisions that carry their own explanation.

Every rule returns what it decided *and why*: a list of `Reason`s (a stable code for programs, a
sentence for people, details for auditors) and the inputs it looked at. `to_dict()` gives a JSON-able
document (dates as ISO strings, money as strings such as ``"550.00"``) that can be stored with the
claim or shown to an officer as it is.

Convention: a `Decision` lists the reasons that *fail* a check; ``ok`` is true when there are none.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any


def jsonable(value: Any) -> Any:
    """Turn rule data into plain JSON types: ISO dates, Decimal as string, sets as sorted lists."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, date):  # also datetime
        return value.isoformat()
    if isinstance(value, Mapping):
        return {_key(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (set, frozenset)):
        return [jsonable(v) for v in sorted(value, key=_sort_key)]
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if hasattr(value, "to_dict"):
        return value.to_dict()
    return value


def _key(key: Any) -> Any:
    return key.isoformat() if isinstance(key, date) else key if isinstance(key, (str, int)) else str(key)


def _sort_key(value: Any) -> tuple[str, str]:
    return (type(value).__name__, str(value))


@dataclass(frozen=True)
class Reason:
    """Why a rule decided as it did: a stable code, a sentence for a person, details for an auditor."""

    code: str
    message: str
    details: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, "details": jsonable(self.details)}


@dataclass(frozen=True)
class Decision:
    """The outcome of a check: ``ok`` when no reason fails it, the failing reasons, and the inputs."""

    ok: bool
    reasons: tuple[Reason, ...]
    inputs: dict[str, Any]

    @classmethod
    def of(cls, reasons: list[Reason] | tuple[Reason, ...], inputs: dict[str, Any]) -> Decision:
        """A decision that is ok exactly when there is no failing reason."""
        return cls(ok=not reasons, reasons=tuple(reasons), inputs=inputs)

    @property
    def codes(self) -> list[str]:
        return [reason.code for reason in self.reasons]

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "reasons": [reason.to_dict() for reason in self.reasons],
            "inputs": jsonable(self.inputs),
        }
