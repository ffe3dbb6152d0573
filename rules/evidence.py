"""The evidence checklist of each format (SPEC §4, §5): what a closing report must hold.

- ``exchange_visit``: the host's attendance certificate;
- ``conference_fair``: the registration proof of the conference or fair, and the number of matchmaking
  meetings held there (at least one);
- ``individual_exchange``: the host's attendance certificate and a report of the activities.

Every format: the attended days lie inside the stay (arrival to departure, travel days included).
"""
from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from types import MappingProxyType

from rules.duration import FORMATS
from rules.errors import RuleInputError

EVIDENCE_CHECKLIST = MappingProxyType({
    "exchange_visit": ("attendance_certificate",),
    "conference_fair": ("registration_proof",),
    "individual_exchange": ("attendance_certificate", "activity_report"),
})
DOCUMENT_NAMES = MappingProxyType({
    "attendance_certificate": "the host's attendance certificate",
    "registration_proof": "the registration proof of the conference or fair",
    "activity_report": "a report of the activities",
})
NEEDS_MEETINGS = frozenset({"conference_fair"})


def missing_documents(format: str, document_kinds: Iterable[str]) -> list[str]:
    """The kinds of document the format's checklist needs and the report lacks, in checklist order."""
    if format not in FORMATS:
        raise RuleInputError("format", f"{format!r} is not a format (formats: {', '.join(sorted(FORMATS))})")
    kinds = frozenset(document_kinds)
    return [kind for kind in EVIDENCE_CHECKLIST[format] if kind not in kinds]


def outside_stay(attended: Iterable[date], arrive: date, depart: date) -> list[date]:
    """The attended days that are not days of the stay, sorted."""
    return sorted(d for d in frozenset(attended) if not arrive <= d <= depart)
