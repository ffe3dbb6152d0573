"""What the use cases answer: pydantic output models, the contract of the CLI's `--json`, the HTTP
API's bodies and the web pages' templates. Never an ORM object or a loose dict.

Amounts are `Decimal` (two places: `model_dump(mode="json")` writes `"550.00"`), moments are
timezone-aware (UTC) datetimes, dates are dates. The models are frozen: an answer is not edited on
its way out."""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict


class Out(BaseModel):
    model_config = ConfigDict(frozen=True, from_attributes=True)


# --- tasks ---------------------------------------------------------------------------------------

class TaskOut(Out):
    """One human task as an inbox or an instance lists it."""

    id: int
    task: str  # the task spec id (the BPMN element id), e.g. "assess_application"
    name: str
    lane: str
    role: str
    partnership_id: int | None = None
    organisation_id: int | None = None
    subject: str | None = None  # the exchange's reference (EX-…) or "application:12"
    instance_id: int
    assignee_id: int | None = None
    assignee: str | None = None  # the assignee's username
    due_at: datetime | None = None
    follow_up_at: datetime | None = None
    overdue: bool = False
    status: str
    created_at: datetime
    process: str | None = None  # the process id, e.g. "exchange_lifecycle"


class InboxPage(Out):
    """One page of an inbox; `total` and `counts_by_task` count the whole filtered set."""

    tasks: list[TaskOut]
    total: int
    page: int
    page_size: int
    counts_by_task: dict[str, int]


class CompletionOut(Out):
    task: int
    instance: int
    instance_status: str
    outcome: str | None = None


class ReassignOut(Out):
    task: TaskOut
    previous_assignee: str | None = None


# --- instances -----------------------------------------------------------------------------------

class HistoryEventOut(Out):
    id: int
    at: datetime
    actor: str
    role: str
    action: str
    task: str | None = None
    before: Any | None = None
    after: Any | None = None
    summary: str = ""  # the event as a sentence with its reasons (reports/history_text.py)


class InstanceVersionOut(Out):
    """One line of an instance's version history: the version it started on, then each move."""

    version: int
    definition_id: int
    action: Literal["started", "migrated", "rolled_back"]
    at: datetime
    by: str | None = None
    reason: str | None = None
    from_version: int | None = None
    migration_id: int | None = None


class InstanceOut(Out):
    """A process instance: its state, open tasks, history, and the BPMN element ids a diagram viewer
    colours (completed, active, failed)."""

    id: int
    process: str
    version: int
    bpmn_sha256: str
    subject: str  # "exchange:7"
    subject_ref: str | None = None  # EX-000007 when the subject is an exchange
    status: str
    outcome: str | None = None
    incident: dict[str, Any] | None = None
    next_timer_at: datetime | None = None
    waiting_for: list[str] = []
    data: dict[str, Any] = {}
    open_tasks: list[TaskOut] = []
    history: list[HistoryEventOut] = []
    completed_step_ids: list[str] = []
    active_step_ids: list[str] = []
    incident_step_ids: list[str] = []
    versions: list[InstanceVersionOut] = []  # the version it started on, then each move between versions


class IncidentOut(Out):
    instance: int
    subject: str                 # the exchange's reference, else "application 12"
    exchange: str | None = None
    task: str | None = None      # the failed step
    error: str
    since: str | None = None     # ISO time it failed
    may_retry: bool = False


class ConflictOut(Out):
    user: str
    organisation: str            # legal name
    legal_id: str
    declared_at: datetime


class RetryOut(Out):
    instance: int
    status: str
    incident: dict[str, Any] | None = None


# --- exchanges -----------------------------------------------------------------------------------

class OrganisationRef(Out):
    id: int
    name: str
    country: str


class ExchangeOut(Out):
    ref: str
    call: str
    status: str
    outcome: str | None = None
    format: str
    visitor: OrganisationRef
    host: OrganisationRef | None = None
    arrival: date | None = None
    departure: date | None = None
    visitor_partnership: str
    instance_id: int | None = None


class ExchangePage(Out):
    exchanges: list[ExchangeOut]
    total: int
    page: int
    page_size: int


class ExtensionRequestOut(Out):
    exchange: str
    requested_departure: date
    status: str


class ExtensionDecisionOut(Out):
    exchange: str
    task: int
    approved: bool
    instance_status: str


class ExchangeActionsOut(Out):
    """What the principal may do to a running exchange now (the exchange page's forms)."""

    may_cancel: bool
    discontinues: bool                       # during the visit a cancellation discontinues it
    may_request_extension: bool
    extension_awaiting_decision: bool
    may_decide_extension: bool
    requested_departure: str | None = None   # of the extension awaiting a decision (ISO date)
    requested_reason: str | None = None
    departure: date | None = None


class CancellationOut(Out):
    exchange: str
    action: str  # "discontinued" (during the visit) or "cancelled"
    status: str
    stage: str | None = None


class BudgetOut(Out):
    call: str
    budget_before: Decimal
    budget: Decimal


# --- payments ------------------------------------------------------------------------------------

class BatchOut(Out):
    id: int
    batch: str  # the MsgId, CXP-…
    pmt_inf_id: str
    partnership: str
    status: str
    business_date: date
    execution_date: date
    n_tx: int
    control_sum: Decimal
    lines: dict[str, int]  # line status → count
    sha256: str | None = None
    files: list[str] = []  # the names of its pain.001 and CSV files (downloads: …/file, …/csv)
    created_at: datetime
    released_by: str | None = None
    released_at: datetime | None = None


class PaymentLineOut(Out):
    exchange: str
    creditor_name: str
    iban: str
    bic: str | None = None
    amount: Decimal
    status: str
    reason_code: str | None = None
    reason: str | None = None


class BatchDetailOut(BatchOut):
    transfers: list[PaymentLineOut] = []


class ReleaseOut(Out):
    batch: str
    status: str
    released_by: str
    file: str | None = None  # the name of the pain.001 file to send to the bank


class ReturnedPayment(Out):
    exchange: str
    code: str | None = None
    reason: str | None = None


class BankImportOut(Out):
    kind: str
    version: str
    message_id: str
    sha256: str
    answers_batch: str | None = None
    imported_by: str
    accepted: int
    rejected: int
    executed: int
    pending: int
    paid: list[str]
    returned: list[ReturnedPayment]
    warnings: list[str]
