"""One human task as the person who decides sees it (`GET /api/tasks/{id}`, `cxp task show`): the task,
its form's JSON Schema with the values the case already knows, whether this principal may act on it
now (and why not), and the context of the decision — computed by the same `rules/` functions the
process applies, from the records the process works on. Read-only: one unit of work, nothing written.

Contexts, by `kind`: `match_review` (the round's proposals with their fit), `eligibility` (R-ELIG's
result for the application), `evidence_validation` (R-DAYS, R-GRANT and the evidence checklist),
`payment_approval` (the claim, who validated it, the bank account masked, R-4EYES), `extension` (the
stay now and asked for, R-DUR), `visit` (the applicants' steps and the officers' signatures: the
match, the host, the dates, what is asked), `call` (preparing a call)."""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated, Any, Literal, NamedTuple

from pydantic import BaseModel, Field
from sqlalchemy import select

from rules.duration import check_duration, latest_departure
from rules.evidence import DOCUMENT_NAMES, EVIDENCE_CHECKLIST
from rules.grant import compute_actual_costs_grant, compute_grant, great_circle_km
from rules.working_days import count_working_days
from workflows.db.base import must_get
from workflows.db.models import Application, Call, Claim, Exchange, MatchProposal, Organisation, User
from workflows.db.process_models import AuditEvent, HumanTask, ProcessInstance
from workflows.services.access import Principal, reassign_candidates, visible_task

if TYPE_CHECKING:
    from rules.working_days import WorkingDays as Stay
    from tasks.ports import ExchangeFacts
    from workflows.app import App
    from workflows.uow import UnitOfWork


# --- output models -------------------------------------------------------------------------------

class OrgSummary(BaseModel):
    id: int
    legal_name: str
    country: str
    subdivision: str | None
    city: str
    org_type: str
    sectors: list[str]
    region_category: str | None


class Reason(BaseModel):
    code: str
    message: str


class ExcludedDay(BaseModel):
    day: date
    reason: str  # travel_day, weekend, holiday:<name>, not_attended


class WorkingDays(BaseModel):
    """R-DAYS for the host's country (and subdivision) over the stay, with the attended days."""
    country: str
    subdivision: str | None
    arrival: date
    departure: date
    attended_days: list[date] | None
    working_days: int
    counted: list[date]
    excluded: list[ExcludedDay]
    notes: list[str]


class Grant(BaseModel):
    """R-GRANT's result: the amount (Decimal, "550.00" in JSON), its reasons and what it was computed from."""
    amount: Decimal
    model: str
    reasons: list[str]
    messages: list[str]
    rule_set_version: str
    distance_km: Decimal | None = None
    threshold: Decimal | None = None
    cap: Decimal | None = None
    min_working_days: int | None = None
    full_rate_min_working_days: int | None = None
    full_rate_min_distance_km: Decimal | None = None
    inputs: dict[str, Any] = {}


class Proposal(BaseModel):
    id: int
    round: int
    status: str
    score: Decimal
    explanation: dict[str, Any]
    exchange: str | None
    visitor_application_id: int
    host_application_id: int
    visitor: OrgSummary
    host: OrgSummary
    visitor_dates: tuple[date, date]   # the visitor's wished window
    host_dates: tuple[date, date]      # the host's availability
    distance_km: Decimal
    why: list[str] = []                # the score's parts in words (sectors, country wish, dates, regions)


class HostPlace(BaseModel):
    """A published host offer of the call an officer may put a visitor with, and its places left."""

    application_id: int
    name: str
    country: str
    dates: tuple[date, date]
    places_left: int


class WaitingVisitor(BaseModel):
    """A visitor of the call waiting for a match that the round left without a proposal."""

    application_id: int
    name: str
    country: str
    dates: tuple[date, date]


class MatchReviewContext(BaseModel):
    kind: Literal["match_review"] = "match_review"
    call: str
    round: int | None
    proposals: list[Proposal]
    hosts: list[HostPlace] = []
    unmatched: list[WaitingVisitor] = []


class EligibilityContext(BaseModel):
    kind: Literal["eligibility"] = "eligibility"
    application_id: int
    role: str
    format: str
    organisation: OrgSummary
    ok: bool | None                    # None: not judged yet
    reasons: list[Reason]              # the failing R-ELIG reasons (none when eligible)
    checked: dict[str, Any]            # what R-ELIG looked at
    dates: tuple[date, date]
    sectors: list[str]
    wished_countries: list[str]
    capacity: int
    activities_offered: list[str]
    motivation: str
    declaration_given: bool
    audit_rights_accepted: bool


class ChecklistItem(BaseModel):
    kind: str
    name: str
    present: bool


class Document(BaseModel):
    kind: str
    filename: str
    sha256: str
    size: int


class EvidenceContext(BaseModel):
    kind: Literal["evidence_validation"] = "evidence_validation"
    exchange: str
    format: str
    visitor: OrgSummary
    host: OrgSummary
    working_days: WorkingDays
    grant: Grant
    checklist: list[ChecklistItem]
    documents: list[Document]
    activities_done: list[str]
    matchmaking_meetings: int | None
    feedback_rating: int | None


class Override(BaseModel):
    amount: Decimal
    reason: str | None
    proposed_by: str | None


class BankAccount(BaseModel):
    holder: str | None
    iban_masked: str | None
    bic: str | None
    iban: str | None = None  # in full, grouped by four: only where a person verifies the account


class RejectedAccount(BaseModel):
    """The account a payment was sent to and the bank rejected, with the bank's reason."""

    holder: str
    iban: str
    reason_code: str | None
    reason: str | None
    batch: str


class FourEyes(BaseModel):
    may_approve: bool
    why_not: str | None


class PaymentContext(BaseModel):
    kind: Literal["payment_approval"] = "payment_approval"
    exchange: str
    claim_id: int
    claim_status: str
    status_reason: str | None
    amount: Decimal
    computation: Grant
    override: Override | None
    validated_by: str | None
    validated_at: datetime | None
    approved_by: str | None
    bank: BankAccount
    four_eyes: FourEyes
    rejected: RejectedAccount | None = None  # verify_bank_details: the account the bank refused, beside `bank`


class ExtensionContext(BaseModel):
    kind: Literal["extension"] = "extension"
    exchange: str
    arrival: date
    departure: date
    working_days_now: int
    requested_departure: date | None
    reason: str | None
    requested_by: str | None
    host_consent: bool | None
    new_total_days: int | None         # arrival to the requested departure, both included
    new_working_days: int | None
    latest_departure: date
    fits_duration: bool | None         # R-DUR for the new stay
    duration_reasons: list[Reason]


class VisitContext(BaseModel):
    kind: Literal["visit"] = "visit"
    exchange: str
    status: str
    format: str
    asked: str
    visitor: OrgSummary
    host: OrgSummary | None
    proposal: Proposal | None
    arrival: date | None
    departure: date | None
    activities: list[str]
    agenda: str | None
    notes: list[str]
    commitment: list[str] = []          # the Commitment to Quality, on the signature tasks
    planned: list[PlannedActivity] = []  # the agreed activities with their titles and dates
    signatures: list[str] = []          # who signed already, in words


class PlannedActivity(BaseModel):
    kind: str
    title: str
    on: date | None = None


class CallContext(BaseModel):
    kind: Literal["call"] = "call"
    code: str
    title: str
    opens_on: date
    closes_on: date
    budget: Decimal
    formats: list[str]
    rule_set_version: str
    partnerships: list[str]
    events: list[str]


class RegistrationContext(BaseModel):
    """What the officers assess of an organisation that registered itself (and the applicant answers)."""

    kind: Literal["registration"] = "registration"
    legal_name: str
    legal_id: str
    org_type: str
    country: str
    subdivision: str | None
    city: str
    latitude: float
    longitude: float
    sectors: list[str]
    cluster_member: bool
    contact_email: str
    user: str                          # the first user: name (username), email
    partnership: str
    registered_at: datetime
    verified_at: datetime | None
    question: str | None
    answer: str | None


Context = Annotated[MatchReviewContext | EligibilityContext | EvidenceContext | PaymentContext | ExtensionContext | VisitContext | CallContext | RegistrationContext, Field(discriminator="kind")]


class Colleague(BaseModel):
    """Someone a task can be handed to: picked by name, sent by username."""

    username: str
    name: str


class TaskDetail(BaseModel):
    id: int
    task: str                          # the BPMN user task id
    name: str
    lane: str
    role: str
    status: str
    assignee: str | None
    partnership_id: int | None
    due_at: datetime | None
    follow_up_at: datetime | None
    created_at: datetime
    instance_id: int
    subject: str | None                # EX-…, HOST-…, the call's code
    process: str
    form_schema: dict[str, Any]
    form_defaults: dict[str, Any]
    can_act: bool
    why_not: str | None
    context: Context | None
    context_problem: str | None = None  # why the context could not be computed (the task is still shown)
    # whom the caller may hand the task to (none: they may not reassign it, e.g. an auditor)
    reassign_to: list[Colleague] = []


# --- the use case --------------------------------------------------------------------------------

def task_detail(app: App, principal: Principal, task_id: int) -> TaskDetail:
    """Task `task_id` as `principal` sees it; `NotFound` when it does not exist or is not theirs to see."""
    from tasks.forms import form_for

    with app.uow() as uow:
        task = visible_task(uow, principal, task_id)
        instance = must_get(uow.session, ProcessInstance, task.instance_id)
        case = _Case(uow, principal, task, instance)
        problem = f"task {task.id} is {task.status}" if task.status != "open" else _permission_problem(
            uow, task, principal, None)
        form = form_for(task.task_spec)
        context, context_problem = case.context_or_problem()
        return TaskDetail(
            id=task.id, task=task.task_spec, name=task.name, lane=task.lane, role=task.role, status=task.status,
            assignee=_username(uow, task.assignee_id), partnership_id=task.partnership_id, due_at=task.due_at,
            follow_up_at=task.follow_up_at, created_at=task.created_at, instance_id=task.instance_id,
            subject=task.subject_ref, process=instance.process_id, form_schema=form.model_json_schema(),
            form_defaults={k: v for k, v in case.defaults().items() if k in form.model_fields},
            can_act=problem is None, why_not=problem, context=context, context_problem=context_problem,
            reassign_to=[Colleague(username=p.username, name=p.display_name or p.username)
                         for p in reassign_candidates(uow, principal, task)],
        )


def _permission_problem(uow: UnitOfWork, task: HumanTask, principal: Principal,
                        data: Mapping[str, Any] | None) -> str | None:
    """Why `principal` may not claim or complete `task` now (lane, partnership, assignee, R-4EYES), or
    None: the one place this module asks the task's permission rule."""
    from workflows.services.access import task_action_problem

    if principal.user_id is None:
        return f"{principal.username} does not act on tasks"
    return task_action_problem(uow, principal, task, data)


def _username(uow: UnitOfWork, user_id: int | None) -> str | None:
    return None if user_id is None else uow.session.scalar(select(User.username).where(User.id == user_id))


def _org(org: Organisation) -> OrgSummary:
    return OrgSummary(id=org.id, legal_name=org.legal_name, country=org.country, subdivision=org.subdivision,
                         city=org.city, org_type=org.org_type, sectors=list(org.sectors or []),
                         region_category=org.region_category)


def _reasons(items: list[Mapping[str, Any]] | None) -> list[Reason]:
    return [Reason(code=r.get("code", ""), message=r.get("message") or r.get("code", "")) for r in items or []]


def _grant(result: Mapping[str, Any]) -> Grant:
    """A grant as `GrantResult.to_dict()` gives it (and `Claim.computation` stores it)."""
    inputs = dict(result.get("inputs") or {})
    return Grant(amount=Decimal(result["amount"]), model=result["model"], reasons=list(result.get("reasons", [])),
                 messages=list(result.get("messages", [])), rule_set_version=result["rule_set_version"],
                 **{k: inputs.get(k) for k in ("distance_km", "threshold", "cap", "min_working_days",
                                               "full_rate_min_working_days", "full_rate_min_distance_km")},
                 inputs=inputs)


def fit_in_words(explanation: Mapping[str, Any]) -> list[str]:
    """The parts of a pair's fit score (`rules.matching.explain_fit`) as sentences."""
    parts = explanation.get("components") or {}
    said = []

    def pts(part: Mapping[str, Any]) -> str:
        return f"{Decimal(str(part.get('points', 0))):.2f} points"

    if "sector" in parts:
        shared = sorted(parts["sector"].get("shared") or [])
        said.append(f"Sectors in common: {', '.join(s.replace('_', ' ') for s in shared) or 'none'} "
                    f"({pts(parts['sector'])})")
    if "country_wish" in parts:
        wish = parts["country_wish"]
        said.append(f"The host's country {wish.get('host_country')} is "
                    f"{'one the visitor wished' if wish.get('hit') else 'not among those wished'} ({pts(wish)})")
    if "date_overlap" in parts:
        dates = parts["date_overlap"]
        said.append(f"Dates overlap {dates.get('days')} of the visitor's {dates.get('visitor_days')} days "
                    f"(at least {dates.get('min_days')} needed; {pts(dates)})")
    if "region_bonus" in parts:
        region = parts["region_bonus"]
        said.append(f"{'Crosses' if region.get('applies') else 'Does not cross'} the less/more developed regions "
                    f"({pts(region)})")
    return said


def grouped_iban(iban: str | None) -> str | None:
    """An IBAN in groups of four, as printed on a bank's letter ("BE71 0961 2345 6769")."""
    if not iban:
        return None
    compact = iban.replace(" ", "").upper()
    return " ".join(compact[i:i + 4] for i in range(0, len(compact), 4))


def mask_iban(iban: str | None) -> str | None:
    """Every character hidden but the last four, in groups of four: `**** **** **** 6769`."""
    if not iban:
        return None
    compact = iban.replace(" ", "")
    hidden = "*" * (len(compact) - 4) + compact[-4:]
    return " ".join(hidden[i:i + 4] for i in range(0, len(hidden), 4))


_KINDS = {
    "review_proposals": "match_review", "assess_application": "eligibility", "approve_host": "eligibility",
    "validate_evidence": "evidence_validation", "approve_payment": "payment_approval",
    "verify_bank_details": "payment_approval", "decide_extension": "extension",
    "host_consent_extension": "extension", "prepare_call": "call",
    "assess_registration": "registration", "answer_registration_question": "registration",
}


class _AgreedStay(NamedTuple):
    host: Organisation
    arrival: date
    departure: date


class _Case:
    """The records of one task's case, read once, and what each kind of decision shows of them."""

    def __init__(self, uow: UnitOfWork, principal: Principal, task: HumanTask, instance: ProcessInstance) -> None:
        self.uow, self.s, self.principal, self.task, self.instance = uow, uow.session, principal, task, instance
        self.exchange = self.s.get(Exchange, instance.subject_id) if instance.subject_type == "exchange" else None
        self._facts: ExchangeFacts | None = None

    # -- shared lookups -----------------------------------------------------------------------------
    @property
    def ex(self) -> Exchange:
        """The case's exchange, for the contexts that need one (`context()` asks for them only then)."""
        if self.exchange is None:
            raise LookupError(f"process instance {self.instance.id} is not an exchange's")
        return self.exchange

    def facts(self) -> ExchangeFacts:
        if self._facts is None:
            from workflows.programme import Programme

            self._facts = Programme(self.s, self.uow.now(), None).exchange_facts(self.ex.id)
        return self._facts

    def org(self, org_id: int | None) -> Organisation | None:
        """The organisation an exchange names (its foreign key), or None while it names none."""
        return must_get(self.s, Organisation, org_id) if org_id is not None else None

    def claim(self) -> Claim | None:
        return self.s.scalars(select(Claim).where(Claim.exchange_id == self.ex.id)).first()

    def forms(self, spec: str, after_event: int = 0) -> list[tuple[AuditEvent, dict[str, Any]]]:
        """The forms submitted for `spec` in this instance (oldest first), from the audit trail."""
        events = self.s.scalars(select(AuditEvent).where(
            AuditEvent.instance_id == self.instance.id, AuditEvent.action == "task_completed",
            AuditEvent.task == spec, AuditEvent.id > after_event).order_by(AuditEvent.id))
        return [(e, dict((e.data_after or {}).get("form") or {})) for e in events]

    def agreed(self) -> _AgreedStay:
        """The exchange's host and agreed dates; `LookupError` (shown as the context's problem) before."""
        ex = self.ex
        if ex.host_org_id is None or ex.arrival is None or ex.departure is None:
            raise LookupError(f"exchange {ex.ref} has no host and agreed dates yet")
        return _AgreedStay(must_get(self.s, Organisation, ex.host_org_id), ex.arrival, ex.departure)

    def stay(self, attended: list[date] | None = None, departure: date | None = None) -> Stay:
        """R-DAYS over the agreed stay (or until `departure`) at the host."""
        host, arrival, agreed_departure = self.agreed()
        return count_working_days(host.country, arrival, departure or agreed_departure, host.subdivision, attended)

    def proposal(self, row: MatchProposal) -> Proposal:
        visitor_app = must_get(self.s, Application, row.visitor_application_id)
        host_app = must_get(self.s, Application, row.host_application_id)
        visitor, host = visitor_app.organisation, host_app.organisation
        ref = self.s.scalar(select(Exchange.ref).where(Exchange.visitor_application_id == visitor_app.id))
        return Proposal(
            id=row.id, round=row.round, status=row.status, score=row.score, explanation=row.explanation or {},
            exchange=ref, visitor_application_id=visitor_app.id, host_application_id=host_app.id,
            visitor=_org(visitor), host=_org(host), visitor_dates=(visitor_app.date_from, visitor_app.date_to),
            host_dates=(host_app.date_from, host_app.date_to),
            distance_km=great_circle_km(visitor.latitude, visitor.longitude, host.latitude, host.longitude),
            why=fit_in_words(row.explanation or {}))

    # -- the context of each kind of decision -------------------------------------------------------
    def context_or_problem(self) -> tuple[Any, str | None]:
        """The context, or None and the sentence of the rule or record that prevented it (a stay the
        calendar cannot judge, a rule set not loaded): the task itself is still shown."""
        from rules.errors import RuleInputError

        try:
            return self.context(), None
        except RuleInputError as err:
            return None, f"{err.field}: {err.message}"
        except LookupError as err:
            return None, str(err)

    def context(self) -> Any:
        kind = _KINDS.get(self.task.task_spec, "visit")
        ex = self.exchange
        if kind in ("evidence_validation", "payment_approval", "extension", "visit") and ex is None:
            return None
        if kind in ("evidence_validation", "extension") and ex is not None and not (ex.arrival and ex.host_org_id):
            return None
        return getattr(self, "_" + kind)()

    def _match_review(self) -> MatchReviewContext:
        call = must_get(self.s, Call, self.instance.subject_id)
        round_no = self.s.scalar(select(MatchProposal.round).where(
            MatchProposal.call_id == call.id, MatchProposal.status == "proposed").order_by(
            MatchProposal.round.desc()).limit(1))
        rows: Sequence[MatchProposal] = self.s.scalars(select(MatchProposal).where(
            MatchProposal.call_id == call.id, MatchProposal.round == round_no,
            MatchProposal.status == "proposed").order_by(MatchProposal.id)).all() if round_no is not None else []
        from workflows.match_overrides import host_places
        from workflows.programme import Programme

        places = host_places(Programme(self.s, self.uow.now(), None), call.id, round_no)
        proposed = {p.visitor_application_id for p in rows}
        waiting = self.s.scalars(select(Application).where(
            Application.call_id == call.id, Application.role == "visitor", Application.status == "awaiting_match")
            .order_by(Application.id)).all() if round_no is not None else []
        return MatchReviewContext(
            call=call.code, round=round_no, proposals=[self.proposal(p) for p in rows],
            hosts=[HostPlace(application_id=h.id, name=h.organisation.legal_name, country=h.organisation.country,
                             dates=(h.date_from, h.date_to), places_left=left) for h, left in places],
            unmatched=[WaitingVisitor(application_id=v.id, name=v.organisation.legal_name,
                                      country=v.organisation.country, dates=(v.date_from, v.date_to))
                       for v in waiting if v.id not in proposed])

    def _eligibility(self) -> EligibilityContext:
        application_id = (self.instance.subject_id if self.exchange is None
                          else self.exchange.visitor_application_id)
        application = must_get(self.s, Application, application_id)
        result = application.eligibility or {}
        return EligibilityContext(
            application_id=application.id, role=application.role, format=application.format,
            organisation=_org(application.organisation), ok=result.get("ok"), reasons=_reasons(result.get("reasons")),
            checked=dict(result.get("inputs") or {}), dates=(application.date_from, application.date_to),
            sectors=list(application.sectors or []), wished_countries=list(application.wished_countries or []),
            capacity=application.capacity, activities_offered=list(application.activities_offered or []),
            motivation=application.motivation, declaration_given=application.declaration_given,
            audit_rights_accepted=application.audit_rights_accepted)

    def _evidence_validation(self) -> EvidenceContext:
        ex, (host, arrival, departure) = self.ex, self.agreed()
        evidence = dict(ex.evidence or {})
        attended = [date.fromisoformat(d) for d in evidence.get("attended_days", [])]
        days = self.stay(attended)
        facts = self.facts()
        if facts.rule_set.grant_model == "actual_costs":
            costs = {k: Decimal(str(evidence.get(f"{k}_costs") or "0"))
                     for k in ("travel", "accommodation", "subsistence")}
            grant = compute_actual_costs_grant(facts.rule_set, costs, days.working_days)
        else:
            grant = compute_grant(facts.rule_set, facts.host.country, days.working_days, facts.distance_km)
        kinds = {d.get("kind") for d in evidence.get("documents", [])}
        return EvidenceContext(
            exchange=ex.ref, format=ex.format, visitor=_org(must_get(self.s, Organisation, ex.visitor_org_id)),
            host=_org(host),
            working_days=WorkingDays(
                country=days.country, subdivision=days.subdivision, arrival=arrival,
                departure=departure, attended_days=attended if evidence else None,
                working_days=days.working_days, counted=list(days.counted),
                excluded=[ExcludedDay(day=d, reason=r) for d, r in sorted(days.excluded.items())],
                notes=list(days.notes)),
            grant=_grant(grant.to_dict()),
            checklist=[ChecklistItem(kind=k, name=DOCUMENT_NAMES[k], present=k in kinds)
                       for k in EVIDENCE_CHECKLIST[ex.format]],
            documents=[Document(**{k: d[k] for k in ("kind", "filename", "sha256", "size")})
                       for d in evidence.get("documents", [])],
            activities_done=list(evidence.get("activities_done", [])),
            matchmaking_meetings=evidence.get("matchmaking_meetings"), feedback_rating=evidence.get("feedback_rating"))

    def _payment_approval(self) -> PaymentContext | None:
        claim = self.claim()
        if claim is None:
            return None
        override = claim.override
        validated = self.s.scalars(select(HumanTask.completed_at).where(
            HumanTask.instance_id == self.instance.id, HumanTask.task_spec == "validate_evidence",
            HumanTask.status == "completed").order_by(HumanTask.id.desc()).limit(1)).first()
        ex = self.ex
        visitor = must_get(self.s, Organisation, ex.visitor_org_id)
        verifying = self.task.task_spec == "verify_bank_details"
        problem = (f"task {self.task.id} is {self.task.status}" if self.task.status != "open"
                   else _permission_problem(self.uow, self.task, self.principal, {"decision": "approve"}))
        return PaymentContext(
            exchange=ex.ref, claim_id=claim.id, claim_status=claim.status, status_reason=claim.status_reason,
            amount=claim.amount, computation=_grant(claim.computation),
            override=Override(amount=Decimal(str(override["amount"])), reason=override.get("reason"),
                              proposed_by=_username(self.uow, override.get("proposed_by"))) if override else None,
            validated_by=_username(self.uow, claim.validated_by), validated_at=validated,
            approved_by=_username(self.uow, claim.approved_by),
            bank=self._corrected() if verifying else BankAccount(
                holder=claim.creditor_name or visitor.account_holder or visitor.legal_name,
                iban_masked=mask_iban(claim.iban or visitor.iban), bic=claim.bic or visitor.bic),
            four_eyes=FourEyes(may_approve=problem is None, why_not=problem),
            rejected=self._rejected(claim.id) if verifying else None)

    def _corrected(self) -> BankAccount:
        """The account the applicant gave in the last `correct_bank_details` (applied only once verified)."""
        forms = self.forms("correct_bank_details")
        given: dict[str, Any] = forms[-1][1] if forms else {}
        return BankAccount(holder=given.get("account_holder"), iban_masked=mask_iban(given.get("iban")),
                           bic=given.get("bic"), iban=grouped_iban(given.get("iban")))

    def _rejected(self, claim_id: int) -> RejectedAccount | None:
        """The last payment line of the claim the bank rejected: where the money was to go, and why not."""
        from workflows.db.process_models import PaymentBatch, PaymentLine

        found = self.s.execute(select(PaymentLine, PaymentBatch.msg_id).join(
            PaymentBatch, PaymentBatch.id == PaymentLine.batch_id).where(
            PaymentLine.claim_id == claim_id, PaymentLine.status == "rejected").order_by(PaymentLine.id.desc())
            .limit(1)).first()
        if found is None:
            return None
        line, msg_id = found
        return RejectedAccount(holder=line.creditor_name, iban=grouped_iban(line.iban) or line.iban,
                               reason_code=line.reason_code, reason=line.reason_text, batch=msg_id)

    def _extension(self) -> ExtensionContext:
        ex, (_, arrival, departure) = self.ex, self.agreed()
        rules = self.facts().rule_set
        request = self.s.scalars(select(AuditEvent).where(
            AuditEvent.subject == ex.ref, AuditEvent.action == "extension_requested").order_by(
            AuditEvent.id.desc()).limit(1)).first()
        asked = dict(request.data_after or {}) if request else {}
        new_departure = date.fromisoformat(asked["departure"]) if asked.get("departure") else None
        consents = self.forms("host_consent_extension", request.id) if request else []
        fits, reasons, total, new_days = None, [], None, None
        if new_departure is not None:
            new_days = self.stay(departure=new_departure).working_days
            decision = check_duration(arrival, new_departure, new_days, self.facts().activities, ex.format, rules)
            fits, reasons, total = decision.ok, _reasons([r.to_dict() for r in decision.reasons]), (
                new_departure - arrival).days + 1
        return ExtensionContext(
            exchange=ex.ref, arrival=arrival, departure=departure, working_days_now=self.stay().working_days,
            requested_departure=new_departure, reason=asked.get("reason"),
            requested_by=request.actor if request else None,
            host_consent=consents[-1][1].get("consent") if consents else None, new_total_days=total,
            new_working_days=new_days, latest_departure=latest_departure(arrival, rules), fits_duration=fits,
            duration_reasons=reasons)

    def _visit(self) -> VisitContext:
        from tasks.forms import form_for

        ex = self.ex
        row = must_get(self.s, MatchProposal, ex.proposal_id) if ex.proposal_id else self.s.scalars(
            select(MatchProposal).where(MatchProposal.visitor_application_id == ex.visitor_application_id,
                                        MatchProposal.status == "sent").order_by(MatchProposal.id.desc())).first()
        proposal = self.proposal(row) if row is not None else None
        host = self.org(ex.host_org_id)
        agenda = ex.agenda or {}
        return VisitContext(
            exchange=ex.ref, status=ex.status, format=ex.format,
            asked=" ".join((form_for(self.task.task_spec).__doc__ or self.task.name).split()),
            visitor=_org(must_get(self.s, Organisation, ex.visitor_org_id)),
            host=_org(host) if host else (proposal.host if proposal else None),
            proposal=proposal, arrival=ex.arrival, departure=ex.departure,
            activities=[a.get("kind", "") for a in agenda.get("activities", [])], agenda=agenda.get("agenda"),
            notes=self._notes(), **self._commitment(agenda))

    def _commitment(self, agenda: Mapping[str, Any]) -> dict[str, Any]:
        """On a signature task: the Commitment's text, the agreed activities and who signed it already."""
        from tasks.forms import COMMITMENT_TO_QUALITY

        if not self.task.task_spec.startswith("sign_commitment"):
            return {}
        sides = {"sign_commitment_visitor": "for the visiting organisation",
                 "sign_commitment_host": "for the host organisation",
                 "sign_commitment_visitor_officer": "for the visitor's partnership",
                 "sign_commitment_host_officer": "for the host's partnership"}
        signed = [f"{form.get('signatory_name') or event.actor} ({event.actor}) {side}, "
                  f"{event.occurred_at:%d %b %Y}"
                  for spec, side in sides.items() for event, form in self.forms(spec)]
        planned = [PlannedActivity(kind=str(a.get("kind", "")), title=str(a.get("title", "")),
                                   on=date.fromisoformat(a["on"]) if a.get("on") else None)
                   for a in agenda.get("activities", [])]
        return {"commitment": list(COMMITMENT_TO_QUALITY), "planned": planned, "signatures": signed}

    def _notes(self) -> list[str]:
        """What the officers said that this step answers."""
        spec, notes = self.task.task_spec, []
        if spec == "provide_information":
            notes += [f"The officer asks: {f['comment']}" for _, f in self.forms("assess_application")[-1:]
                      if f.get("comment")]
        if spec == "submit_evidence":
            notes += [f"Returned for correction: {f['comment']}" for _, f in self.forms("validate_evidence")[-1:]
                      if f.get("decision") == "return" and f.get("comment")]
        if spec == "correct_bank_details":
            claim = self.claim()
            if claim is not None and claim.status_reason:
                notes.append(f"The bank rejected the payment: {claim.status_reason}")
        return notes

    def _call(self) -> CallContext:
        call = must_get(self.s, Call, self.instance.subject_id)
        return CallContext(
            code=call.code, title=call.title, opens_on=call.opens_on, closes_on=call.closes_on, budget=call.budget,
            formats=list(call.formats or []), rule_set_version=call.rule_set_version,
            partnerships=[p.code for p in call.partnerships],
            events=[f"{e.title} ({e.kind}, {e.starts_on} to {e.ends_on}, {e.place})" for e in call.events])

    def _registration(self) -> RegistrationContext:
        from workflows.db.models import Partnership
        from workflows.db.registration_models import Registration

        reg = must_get(self.s, Registration, self.instance.subject_id)
        org = must_get(self.s, Organisation, reg.organisation_id)
        user = must_get(self.s, User, reg.user_id)
        return RegistrationContext(
            legal_name=org.legal_name, legal_id=org.legal_id, org_type=org.org_type, country=org.country,
            subdivision=org.subdivision, city=org.city, latitude=org.latitude, longitude=org.longitude,
            sectors=list(org.sectors or []), cluster_member=org.cluster_member, contact_email=org.contact_email,
            user=f"{user.display_name} ({user.username}), {user.email}",
            partnership=must_get(self.s, Partnership, reg.partnership_id).name, registered_at=reg.created_at,
            verified_at=reg.verified_at, question=reg.question, answer=reg.answer)

    # -- the values the case already knows ----------------------------------------------------------
    def defaults(self) -> dict[str, Any]:
        spec, ex = self.task.task_spec, self.exchange
        if ex is None:
            return {}
        if spec == "agree_commitment" and ex.arrival and ex.departure:
            agenda = ex.agenda or {}
            return {"arrival": ex.arrival.isoformat(), "departure": ex.departure.isoformat(),
                    "agenda": agenda.get("agenda"), "activities": agenda.get("activities", [])}
        if spec == "submit_evidence":
            if ex.evidence:  # returned for correction: what was sent, to correct
                return {k: v for k, v in ex.evidence.items() if k != "completed_by"}
            if ex.arrival and ex.departure and ex.host_org_id:
                return {"attended_days": [d.isoformat() for d in self.stay().counted]}
        if spec.startswith("sign_commitment") and self.principal.display_name:
            return {"signatory_name": self.principal.display_name}
        if spec == "correct_bank_details":
            visitor = must_get(self.s, Organisation, ex.visitor_org_id)
            return {"account_holder": visitor.account_holder or visitor.legal_name, "bic": visitor.bic}
        return {}
