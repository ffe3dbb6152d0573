"""Runtime records: process definitions (each BPMN version once), instances (state without the spec),
human tasks, audit events (hash chain), outbox messages, payment batches and the simulated clock."""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    Date,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from workflows.db.base import Base, UTCDateTime


class ProcessDefinition(Base):
    """One BPMN file version, stored once by its SHA-256."""

    __tablename__ = "process_definitions"
    __table_args__ = (UniqueConstraint("process_id", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    process_id: Mapped[str] = mapped_column(String(80))
    version: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64), unique=True)
    filename: Mapped[str] = mapped_column(String(200))
    bpmn_xml: Mapped[str] = mapped_column(Text)
    deployed_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # who deployed it from the workspace, the API or `cxp processes deploy`, why, and what was checked
    # (migration 0010; a version `cxp init` deployed from the package has none of them)
    deployed_by: Mapped[str | None] = mapped_column(String(80), default=None)
    reason: Mapped[str | None] = mapped_column(Text, default=None)
    checks: Mapped[dict[str, Any] | None] = mapped_column(default=None)


class ProcessInstance(Base):
    """A running or finished process. `state` is Spiff's serialization without the spec."""

    __tablename__ = "process_instances"
    __table_args__ = (
        Index("ix_process_instances_subject", "subject_type", "subject_id"),
        Index("ix_process_instances_status_timer", "status", "next_timer_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    definition_id: Mapped[int] = mapped_column(ForeignKey("process_definitions.id"))
    process_id: Mapped[str] = mapped_column(String(80))
    subject_type: Mapped[str] = mapped_column(String(20))
    subject_id: Mapped[int] = mapped_column(Integer)
    state_json: Mapped[str] = mapped_column(Text, deferred=True)
    status: Mapped[str] = mapped_column(String(20), default="running")
    outcome: Mapped[str | None] = mapped_column(String(80))
    next_timer_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    waiting_messages: Mapped[list[Any]] = mapped_column(default=list)
    incident: Mapped[dict[str, Any] | None] = mapped_column()
    lock_version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # a due timer's claim by a worker (workflows/db/queue.py): who, and until when (wall-clock UTC)
    lease_owner: Mapped[str | None] = mapped_column(String(120))
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime())

    __mapper_args__ = {"version_id_col": lock_version}

    @property
    def state(self) -> dict[str, Any]:
        """The serialized state as a dict (read-only; the engine writes `state_json`).

        Stored as JSON text, loaded only when asked for: the engine keeps restored instances in
        memory and needs the text only on a cache miss."""
        import json

        return json.loads(self.state_json) if self.state_json else {}


class HumanTask(Base):
    """Projection of a READY user task: who may do it, by when."""

    __tablename__ = "human_tasks"
    __table_args__ = (
        # the inbox's filter, then its order: soonest due first, no due date last, then id (migration 0003)
        Index("ix_human_tasks_inbox", "status", "role", "partnership_id", text("(due_at IS NULL)"), "due_at", "id"),
        Index("ix_human_tasks_assignee", "status", "assignee_id"),
        # the inbox's counts per task, from the index alone (migration 0009)
        Index("ix_human_tasks_counts", "status", "role", "partnership_id", "task_spec", "assignee_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instances.id"), index=True)
    task_guid: Mapped[str] = mapped_column(String(36), unique=True)
    task_spec: Mapped[str] = mapped_column(String(80))
    name: Mapped[str] = mapped_column(String(200))
    lane: Mapped[str] = mapped_column(String(40))
    role: Mapped[str] = mapped_column(String(20))
    partnership_id: Mapped[int | None] = mapped_column(Integer)
    subject_ref: Mapped[str | None] = mapped_column(String(40))
    organisation_id: Mapped[int | None] = mapped_column(Integer)
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    follow_up_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    reminded_at: Mapped[datetime | None] = mapped_column(UTCDateTime())   # the deadline sweep's reminder
    escalated_at: Mapped[datetime | None] = mapped_column(UTCDateTime())  # and its escalation (migration 0005)
    status: Mapped[str] = mapped_column(String(20), default="open")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    completed_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


class AuditEvent(Base):
    """Append-only, hash-chained record of every change (R-AUDIT). Each event is on one chain: its
    instance's (`instance:<id>`), or `global` for events of no instance (migration 0004)."""

    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    chain: Mapped[str] = mapped_column(String(40), server_default=text("'global'"))
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime())
    actor_id: Mapped[int | None] = mapped_column(Integer)
    actor: Mapped[str] = mapped_column(String(80))
    actor_role: Mapped[str] = mapped_column(String(20))
    instance_id: Mapped[int | None] = mapped_column(Integer, index=True)
    task: Mapped[str | None] = mapped_column(String(80))
    action: Mapped[str] = mapped_column(String(60))
    subject: Mapped[str | None] = mapped_column(String(60), index=True)
    data_before: Mapped[dict[str, Any] | None] = mapped_column()
    data_after: Mapped[dict[str, Any] | None] = mapped_column()
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), unique=True)


class AuditChain(Base):
    """The head of one chain: its number of events and the last one's hash. Locked (on PostgreSQL)
    by the transaction appending to that chain only. The first `plain` events of a chain were hashed
    with plain SHA-256, before migration 0004 introduced the keyed hash; the others with HMAC-SHA256."""

    __tablename__ = "audit_chains"

    chain: Mapped[str] = mapped_column(String(40), primary_key=True)
    events: Mapped[int] = mapped_column(Integer)
    last_hash: Mapped[str] = mapped_column(String(64))
    plain: Mapped[int] = mapped_column(Integer, default=0)


class OutboxMessage(Base):
    """An email written in the same transaction as the change that causes it (R-MAIL)."""

    __tablename__ = "outbox_messages"
    __table_args__ = (Index("ix_outbox_pending", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    dedupe_key: Mapped[str] = mapped_column(String(200), unique=True)
    template: Mapped[str] = mapped_column(String(60))
    recipients: Mapped[list[Any]] = mapped_column()
    context: Mapped[dict[str, Any]] = mapped_column()
    attachments: Mapped[list[Any]] = mapped_column(default=list)
    status: Mapped[str] = mapped_column(String(20), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime())
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    lease_owner: Mapped[str | None] = mapped_column(String(120))  # who is sending it (status `sending`)


class PaymentBatch(Base):
    """A SEPA credit-transfer batch of one partnership: everything its pain.001 file is made of is
    stored here and in its lines (the debtor account too), so the file can be rebuilt byte for byte
    and checked against `file_sha256`. Statuses: created → released → settled."""

    __tablename__ = "payment_batches"

    id: Mapped[int] = mapped_column(primary_key=True)
    partnership_id: Mapped[int] = mapped_column(ForeignKey("partnerships.id"))
    business_date: Mapped[date] = mapped_column(Date)
    execution_date: Mapped[date] = mapped_column(Date)
    msg_id: Mapped[str] = mapped_column(String(35), unique=True)
    pmt_inf_id: Mapped[str] = mapped_column(String(35), unique=True)
    n_tx: Mapped[int] = mapped_column(Integer)
    control_sum: Mapped[Decimal] = mapped_column()
    status: Mapped[str] = mapped_column(String(20), default="created")
    file_path: Mapped[str | None] = mapped_column(String(400))
    file_sha256: Mapped[str | None] = mapped_column(String(64))
    summary_path: Mapped[str | None] = mapped_column(String(400))
    summary_sha256: Mapped[str | None] = mapped_column(String(64))
    debtor_name: Mapped[str | None] = mapped_column(String(140))
    debtor_iban: Mapped[str | None] = mapped_column(String(34))
    debtor_bic: Mapped[str | None] = mapped_column(String(11))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    released_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    released_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    settled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class PaymentLine(Base):
    """One claim in one batch; a claim is in at most one batch that the bank has not rejected."""

    __tablename__ = "payment_lines"
    __table_args__ = (
        UniqueConstraint("batch_id", "claim_id"),
        # Exactly once, enforced by the database: a claim has at most one line the bank has not rejected.
        Index("uq_payment_lines_open_claim", "claim_id", unique=True,
              sqlite_where=text("status != 'rejected'"), postgresql_where=text("status != 'rejected'")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("payment_batches.id"), index=True)
    claim_id: Mapped[int] = mapped_column(ForeignKey("claims.id"), index=True)
    end_to_end_id: Mapped[str] = mapped_column(String(35))
    amount: Mapped[Decimal] = mapped_column()
    creditor_name: Mapped[str] = mapped_column(String(140))
    iban: Mapped[str] = mapped_column(String(34))
    bic: Mapped[str | None] = mapped_column(String(11))
    remittance: Mapped[str | None] = mapped_column(String(140))
    status: Mapped[str] = mapped_column(String(20), default="batched")
    reason_code: Mapped[str | None] = mapped_column(String(10))
    reason_text: Mapped[str | None] = mapped_column(String(300))


class BankFileImport(Base):
    """A bank answer (pain.002 / camt.054) imported once, recognised by its own message id."""

    __tablename__ = "bank_file_imports"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    message_id: Mapped[str] = mapped_column(String(60), unique=True)
    sha256: Mapped[str] = mapped_column(String(64), unique=True)
    imported_at: Mapped[datetime] = mapped_column(UTCDateTime())
    content: Mapped[bytes] = mapped_column(LargeBinary)
    source: Mapped[str | None] = mapped_column(String(200))
    original_msg_id: Mapped[str | None] = mapped_column(String(35))


class ClockState(Base):
    """The simulated clock (demo and tests); absent row = wall-clock time."""

    __tablename__ = "clock_state"

    id: Mapped[int] = mapped_column(primary_key=True)
    now: Mapped[datetime] = mapped_column(UTCDateTime())
