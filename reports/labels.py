"""Codes in words: the one place that says how a status, format, sector, activity, organisation type,
decision or reason code reads to a person ("visit_planned" → "Visit planned", "joint_learning_event" →
"Joint Learning Event"), and a subdivision by its name ("AT", "9" → "Wien").

The web pages use it through the Jinja filters `label` and `subdivision` (workflows/web/filters.py),
the emails through the mail renderer's environment and the audit PDF through its template, so that a
code reads the same everywhere. A code this module does not know reads as its words, capitalised
("waiting_budget" → "Waiting budget"): never a bare code with underscores.
"""
from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from functools import lru_cache

_CODE = re.compile(r"[a-z][a-z0-9]*(?:_[a-z0-9]+)*")
_UPPER_CODE = re.compile(r"[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+")  # FULL_RATE (a grant reason), not SME or AC04

# statuses of exchanges, applications, calls, tasks, instances, claims and payment batches
STATUSES: dict[str, str] = {
    "submitted": "Submitted", "eligible": "Eligible", "ineligible": "Not eligible",
    "awaiting_match": "Waiting for a match", "matched": "Matched", "committed": "Visit planned",
    "waiting_budget": "Waiting for budget", "evidence_submitted": "Evidence submitted",
    "grant_computed": "Grant computed", "awaiting_payment": "Waiting for payment", "paid": "Paid",
    "closed": "Closed", "cancelled": "Cancelled", "not_matched": "Not matched", "rejected": "Rejected",
    "withdrawn": "Withdrawn", "draft": "Draft", "open": "Open", "published": "Published",
    "claimed": "Claimed", "unclaimed": "Unclaimed", "completed": "Completed", "running": "Running",
    "complete": "Complete", "error": "Stopped on an error", "created": "Created", "released": "Released",
    "settled": "Settled", "approved": "Approved", "validated": "Validated", "accepted": "Accepted",
    "returned": "Returned", "rejected_by_bank": "Rejected by the bank", "pending": "Pending",
    "proposed": "Proposed", "overdue": "Overdue", "active": "Active", "inactive": "Inactive",
}
FORMATS: dict[str, str] = {
    "exchange_visit": "Exchange visit", "conference_fair": "Conference or fair",
    "individual_exchange": "Individual exchange",
}
ACTIVITIES: dict[str, str] = {
    "joint_learning_event": "Joint Learning Event", "matchmaking": "Matchmaking", "study_visit": "Study visit",
}
SECTORS: dict[str, str] = {
    "digital": "Digital", "mobility_transport_automotive": "Mobility, transport and automotive",
    "health": "Health", "agri_food": "Agri-food", "renewable_energy": "Renewable energy",
    "aerospace_defence": "Aerospace and defence", "construction": "Construction", "textile": "Textile",
    "tourism": "Tourism", "electronics": "Electronics", "energy_intensive_industries": "Energy-intensive industries",
    "cultural_creative_industries": "Cultural and creative industries",
    "proximity_social_economy": "Proximity and social economy", "retail": "Retail",
}
ORG_TYPES: dict[str, str] = {
    "cluster_organisation": "Cluster organisation", "sme": "SME",
    "scaleup_support_organisation": "Scale-up support organisation",
}
# a decision reads the same as a form's choice and in the history ("decision: Approve")
DECISIONS: dict[str, str] = {
    "approve": "Approve", "reject": "Reject", "accept": "Accept", "decline": "Decline",
    "return": "Return for changes", "request_changes": "Request changes", "override": "Override",
    "confirm": "Confirm", "refuse": "Refuse", "consent": "Consent",
}
ROLES: dict[str, str] = {
    "applicant": "Applicant", "officer": "Officer", "finance": "Finance officer", "auditor": "Auditor",
    "administrator": "Administrator", "visitor": "Visitor", "host": "Host",
}
KINDS: dict[str, dict[str, str]] = {
    "status": STATUSES, "format": FORMATS, "activity": ACTIVITIES, "sector": SECTORS, "org_type": ORG_TYPES,
    "decision": DECISIONS, "role": ROLES,
}
# a code without a kind: looked up in this order (the first kind that knows it wins)
_ORDER = ("status", "format", "activity", "sector", "org_type", "role", "decision")


def label(code: object, kind: str | None = None) -> str:
    """`code` in words: from the table of `kind` (one of KINDS), else from the first table that knows
    it, else its own words capitalised. None and "" read as ""."""
    if code is None or code == "":
        return ""
    text = str(code)
    tables = [KINDS[kind]] if kind in KINDS else [KINDS[k] for k in _ORDER]
    for table in tables:
        if text in table:
            return table[text]
    if _CODE.fullmatch(text) or _UPPER_CODE.fullmatch(text):  # a code no table knows: its words
        words = text.lower().replace("_", " ")
        return words[:1].upper() + words[1:]
    return text


REGIONS: dict[str, str] = {
    "less_developed": "Less developed", "transition": "Transition", "more_developed": "More developed",
}


def words(value: object) -> str:
    """A recorded value shown in a table cell: a code in words (one any table knows, or a snake_case one
    such as `agri_food`), yes/no for a boolean; anything else — a name, a username like `org07`, an
    amount, free text — exactly as recorded. None reads as ""."""
    if value is None:
        return ""
    if isinstance(value, bool) or value in ("True", "False"):
        return "yes" if value in (True, "True") else "no"
    text = str(value)
    if text in REGIONS:
        return REGIONS[text]
    if any(text in KINDS[k] for k in _ORDER) or ("_" in text and _CODE.fullmatch(text)):
        return label(text)
    return text


def day_reason(reason: object) -> str:
    """Why a date of a stay counted or not, in words ("holiday:Easter Monday" → "public holiday: Easter
    Monday", "travel_day" → "travel day")."""
    text = str(reason or "")
    if text.startswith("holiday:"):
        return f"public holiday: {text.split(':', 1)[1]}"
    return label(text).lower() if text else "—"


def labels(codes: object, kind: str | None = None) -> str:
    """A list of codes in words, joined with commas ("Digital, Health")."""
    if not codes:
        return ""
    if isinstance(codes, str):
        return label(codes, kind)
    return ", ".join(label(code, kind) for code in codes)  # type: ignore[attr-defined]


def percent(share: object, digits: int = 1) -> str:
    """A share kept as a fraction ("0.8500", Decimal, float) as a person reads it: "85.0 %"; "" for
    None or "", and the value itself when it is not a number."""
    if share is None or share == "":
        return ""
    try:
        value = Decimal(str(share)) * 100
    except InvalidOperation:
        return str(share)
    return f"{value.quantize(Decimal(1).scaleb(-digits), ROUND_HALF_UP)} %"


def is_share(column: str) -> bool:
    """Whether a KPI table's column holds shares (fractions): its name says so ("within_target_share")."""
    return column == "share" or column.endswith("_share")


@lru_cache(maxsize=512)
def subdivision_name(country: str | None, subdivision: str | None) -> str:
    """The name of `subdivision` of `country` ("AT", "9" → "Wien"; "PL", "12" → "Małopolskie"), by
    ISO 3166-2 (pycountry); the code itself when ISO 3166-2 does not know it; "" when there is none."""
    if not subdivision:
        return ""
    import pycountry

    code = subdivision if "-" in subdivision else f"{(country or '').upper()}-{subdivision.upper()}"
    found = pycountry.subdivisions.get(code=code)  # type: ignore[no-untyped-call]
    return str(found.name) if found is not None else subdivision
