"""What the programme administration's use cases answer (SPEC §14): calls with their budget and
history, budget changes, rule sets side by side, partnerships, organisations, and the programme at a
glance. Amounts are Decimal euros (two places), moments timezone-aware."""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from workflows.services.outputs import Out


class BudgetOut(Out):
    """A call's budget and what is done with it; `left` = budget − committed − paid."""

    budget: Decimal
    committed: Decimal
    paid: Decimal
    waiting: Decimal  # the grants waiting for budget (BUDGET_EXHAUSTED), not counted in `left`
    waiting_grants: int
    left: Decimal


class BudgetChangeOut(Out):
    call: str
    budget_before: Decimal
    budget: Decimal
    reason: str
    approved: list[str]  # the exchanges whose waiting grant the change committed, in order
    after: BudgetOut


class EventOut(Out):
    kind: str
    title: str
    starts_on: date
    ends_on: date
    place: str


class CallOut(Out):
    code: str
    title: str
    status: str  # draft | published | open | closed
    lead_partnership: str
    partnerships: list[str]  # every partnership taking part, the lead first
    opens_on: date
    closes_on: date
    matching_deadline: datetime
    budget: Decimal
    formats: list[str]
    rule_set_version: str
    events: list[EventOut]
    published_at: datetime | None = None
    closed_at: datetime | None = None
    closed_reason: str | None = None
    editable: bool  # a draft: its windows, formats, rule set and events may still change


class CallRowOut(Out):
    """A call as the administration lists it."""

    call: CallOut
    budget: BudgetOut


class WaitingGrantOut(Out):
    exchange: str
    organisation: str
    amount: Decimal
    since: datetime


class HistoryEntryOut(Out):
    """One change of a call: who, when, what, and why."""

    at: datetime
    actor: str
    role: str
    action: str
    what: str
    reason: str | None = None


class CallDetailOut(Out):
    call: CallOut
    budget: BudgetOut
    waiting: list[WaitingGrantOut]
    exchanges_by_status: dict[str, int]
    instance_id: int | None  # the call's process, once published (or imported)
    history: list[HistoryEntryOut]
    may_change: bool = False  # the caller manages calls (an administrator): the pages show the forms


class CallFormChoicesOut(Out):
    """What a call's form offers to choose from."""

    partnerships: list[str]
    rule_set_versions: list[str]


class CallClosedOut(Out):
    """An early close: what ended with it and what goes on."""

    call: str
    status: str
    reason: str
    ended: list[str]       # applications ended now (exchanges before a match, undecided host offers)
    continuing: list[str]  # exchanges matched or beyond: they go on to their own end
    report: dict[str, Any]


class RuleSetOut(Out):
    version: str
    created_at: datetime
    sha256: str | None
    note: str | None
    created_by: str | None
    calls: list[str]  # the calls that apply it
    values: dict[str, Any]


class RuleSetRowOut(Out):
    """One setting across the versions compared; `differs` when they do not all agree."""

    setting: str
    values: dict[str, str | None]
    differs: bool


class RuleSetsOut(Out):
    versions: list[RuleSetOut]
    compared: list[str]
    rows: list[RuleSetRowOut]


class RuleSetAddedOut(Out):
    version: RuleSetOut
    created: bool  # False: the same values were stored already, under this version


class PartnershipOut(Out):
    code: str
    name: str
    country: str
    debtor_name: str
    debtor_iban: str
    debtor_bic: str | None
    calls: list[str]
    officers: int
    finance_users: int


class OrganisationOut(Out):
    legal_id: str
    legal_name: str
    org_type: str
    country: str
    city: str
    partnership: str | None
    contact_email: str
    active: bool
    deactivated_at: datetime | None = None
    deactivated_reason: str | None = None
    applications: int
    exchanges: int


class OrganisationPageOut(Out):
    items: list[OrganisationOut]
    total: int
    page: int
    page_size: int


class CallGlanceOut(Out):
    code: str
    title: str
    status: str
    budget: BudgetOut


class InstanceIssueOut(Out):
    instance: int
    process: str
    subject: str
    problem: str
    since: datetime | None = None


class FailedEmailOut(Out):
    id: int
    template: str
    recipients: list[str]
    error: str | None
    at: datetime


class BatchGlanceOut(Out):
    msg_id: str
    partnership: str
    status: str
    transactions: int
    control_sum: Decimal
    created_at: datetime


class AnchorGlanceOut(Out):
    n: int
    at: datetime
    reason: str | None


class ProgrammeGlanceOut(Out):
    """The programme at a glance (`/admin`)."""

    calls: list[CallGlanceOut]
    exchanges_by_stage: dict[str, int]
    running_instances: int
    incidents: list[InstanceIssueOut]
    stuck: list[InstanceIssueOut]
    failed_emails: int
    recent_failed_emails: list[FailedEmailOut]
    last_batch: BatchGlanceOut | None
    last_anchor: AnchorGlanceOut | None
