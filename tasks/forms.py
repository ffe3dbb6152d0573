"""Forms of the user tasks, keyed by BPMN task id (SPEC §5).

Each user task of ``bpmn/*.bpmn`` has one pydantic model here. Its JSON Schema drives the web form;
:func:`validate_form` checks submitted data before the task runs and returns the JSON-able data that
the engine merges into the process data (so gateway conditions such as ``decision == "approve"`` see
it). Invalid data raises :class:`FormError` with one ``{field, message}`` per problem and changes
nothing.

Rules that involve two fields (a comment required when rejecting, departure after arrival) are field
validators on the *later* field, so that the error names that field.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Annotated, Any, Literal, TypeVar

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    ValidationInfo,
    WrapValidator,
    field_validator,
)
from pydantic_core import PydanticCustomError

from rules.evidence import DOCUMENT_NAMES, NEEDS_MEETINGS, missing_documents, outside_stay

__all__ = ["FORMS", "FormError", "form_for", "validate_form"]

MAX_UPLOAD_BYTES = 20 * 1024 * 1024
MAX_GRANT_EUR = Decimal("1100")
T = TypeVar("T")


def spoken_field(path: str | Sequence[str | int]) -> str:
    """A field's path as a person reads it, list items counted from 1: "documents.0.sha256" →
    "documents, item 1, sha256" (the API's `loc` keeps the 0-based indices of JSON)."""
    parts = path.split(".") if isinstance(path, str) else [str(p) for p in path]
    return ", ".join(f"item {int(p) + 1}" if p.isdigit() else p for p in parts if p != "")


class FormError(ValueError):
    """Submitted data does not fit the form of a task.

    ``errors`` is a list of ``{"field": ..., "message": ...}``; ``field`` is a dotted path such as
    ``documents.0.sha256`` (empty for an error about the whole form).
    """

    def __init__(self, task_id: str, errors: list[dict[str, str]]):
        self.task_id = task_id
        self.errors = errors
        super().__init__(str(self))

    def __str__(self) -> str:
        sentences = "; ".join(
            f"{spoken_field(e['field'])}: {e['message']}" if e["field"] else e["message"] for e in self.errors
        )
        return f"invalid data for task {self.task_id}: {sentences}"

    @classmethod
    def from_validation_error(cls, task_id: str, error: ValidationError) -> FormError:
        errors = []
        for item in error.errors(include_url=False):
            field = ".".join(str(part) for part in item["loc"])
            message = item["msg"]
            if item["type"] == "extra_forbidden":
                message = "is not a field of this form"
            elif item["type"] == "missing":
                message = "is required"
            elif item["type"] == "string_too_short" and item.get("ctx", {}).get("min_length") == 1:
                message = "must not be blank"
            elif message.startswith("Value error, "):
                message = message[len("Value error, "):]
            errors.append({"field": field, "message": message})
        return cls(task_id, errors)


# --------------------------------------------------------------------------- field types


def _blank_to_none(value: Any) -> Any:
    if isinstance(value, str) and not value.strip():
        return None
    return value


def _ticked(value: Any, handler: Any) -> Any:
    try:
        return handler(value)
    except ValidationError:
        raise PydanticCustomError("must_tick", "must be ticked to sign") from None


def _confirmed(value: Any, handler: Any) -> Any:
    try:
        return handler(value)
    except ValidationError:
        raise PydanticCustomError("must_confirm", "must be ticked to confirm") from None


def _cents(value: Decimal) -> Decimal:
    return value.quantize(Decimal("0.01"))


NonBlank = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]
Text = Annotated[str, StringConstraints(strip_whitespace=True, max_length=5000)]
OptionalText = Annotated[Text | None, BeforeValidator(_blank_to_none)]
Comment = Annotated[
    OptionalText, Field(title="Comment", description="Free text kept in the history of the file.")
]
Signed = Annotated[
    Literal[True],
    WrapValidator(_ticked),
    Field(title="I sign the Commitment to Quality", description="Tick to sign."),
]
Confirmed = Annotated[Literal[True], WrapValidator(_confirmed)]
Money = Annotated[Decimal, Field(ge=0, max_digits=12, decimal_places=2), AfterValidator(_cents)]
GrantAmount = Annotated[Decimal, Field(ge=0, le=MAX_GRANT_EUR, max_digits=6, decimal_places=2), AfterValidator(_cents)]


def _format(info: ValidationInfo) -> str:
    """The exchange's format, from the validation context (an exchange visit when none is given)."""
    return str((info.context or {}).get("format") or "exchange_visit")


def _require(value: T | None, message: str) -> T:
    if value is None:
        raise PydanticCustomError("required_by_rule", message)
    return value


class Form(BaseModel):
    """Base of every task form: unknown fields are refused."""

    model_config = ConfigDict(extra="forbid")


# --------------------------------------------------------------------------- exchange


class AssessApplication(Form):
    """Officer's assessment of a visitor application (approve, reject or ask for information)."""

    model_config = ConfigDict(title="Assess the application")

    decision: Literal["approve", "reject", "request_info"] = Field(
        title="Decision", description="approve, reject, or request info to ask the applicant for information."
    )
    comment: Comment = Field(default=None, validate_default=True)

    @field_validator("comment")
    @classmethod
    def _comment_unless_approved(cls, value: str | None, info: ValidationInfo) -> str | None:
        if info.data.get("decision", "approve") != "approve":
            return _require(value, "is required when the decision is not approve")
        return value


class ProvideInformation(Form):
    """The applicant's answer to the officer's request for information."""

    model_config = ConfigDict(title="Provide information")

    information: Annotated[NonBlank, StringConstraints(max_length=5000)] = Field(
        title="Information", description="The information the officer asked for (at most 5000 characters)."
    )


class AcceptMatch(Form):
    """Answer to a match proposal."""

    accept: bool = Field(title="Accept the match", description="True to accept, False to decline.")
    reason: OptionalText = Field(
        default=None, validate_default=True, title="Reason", description="Why the match is declined."
    )

    @field_validator("reason")
    @classmethod
    def _reason_when_declined(cls, value: str | None, info: ValidationInfo) -> str | None:
        if info.data.get("accept", True) is False:
            return _require(value, "is required when declining")
        return value


class VisitorAcceptMatch(AcceptMatch):
    """The visiting organisation accepts or declines the proposed host."""

    model_config = ConfigDict(title="Accept or decline the match (visitor)")


class HostAcceptMatch(AcceptMatch):
    """The host organisation accepts or declines the proposed visitor."""

    model_config = ConfigDict(title="Accept or decline the match (host)")


class Activity(Form):
    """One activity of the agreed agenda."""

    model_config = ConfigDict(title="Activity")

    kind: Literal["joint_learning_event", "matchmaking", "study_visit", "conference_fair", "individual_exchange"] = (
        Field(title="Kind of activity", description="Joint learning event, matchmaking (B2B, C2C), study visit, "
              "conference or fair, or individual exchange.")
    )
    title: Annotated[NonBlank, StringConstraints(max_length=200)] = Field(
        title="Title", description="What the activity is, in a few words (at most 200 characters)."
    )
    on: dt.date | None = Field(default=None, title="Date", description="Day of the activity, when known.")


class AgreeCommitment(Form):
    """Agenda and dates of the visit, agreed before the Commitment to Quality is signed."""

    model_config = ConfigDict(title="Agree agenda and dates")

    arrival: dt.date = Field(title="Arrival", description="Day of arrival at the host (a travel day).")
    departure: dt.date = Field(title="Departure", description="Day of departure from the host (a travel day).")
    activities: list[Activity] = Field(
        title="Activities", description="The planned activities (Joint Learning Event, matchmaking, study visit...)."
    )
    agenda: Annotated[NonBlank, StringConstraints(max_length=10000)] = Field(
        title="Agenda", description="The agreed agenda of the visit."
    )

    @field_validator("departure")
    @classmethod
    def _departure_after_arrival(cls, value: dt.date, info: ValidationInfo) -> dt.date:
        arrival = info.data.get("arrival")
        if arrival is not None and value <= arrival:
            raise PydanticCustomError("departure_before_arrival", "must be after the arrival date")
        return value


COMMITMENT_TO_QUALITY: tuple[str, ...] = (
    "The visiting and the host organisation carry out the agreed agenda and its activities on the agreed "
    "dates, and tell their partnership at once of any change.",
    "The host welcomes the visitor's staff, gives them access to its activities and members, and "
    "certifies the days they attended.",
    "The visitor sends the closing report, its evidence and the feedback survey within 15 days of the "
    "end of the visit; the grant is paid on the validated report only.",
    "Both organisations keep the records of the exchange for five years and give the auditors of the "
    "programme access to them.",
    "The two partnerships' officers check the agenda against the programme's rules (at least three "
    "working days, at most one month, the three activities of an exchange visit) before they sign.",
)
"""The Commitment to Quality every signer reads before signing (SPEC §4: the visit's agreement)."""


class SignCommitment(Form):
    """Signature of the Commitment to Quality."""

    signed: Signed
    signatory_name: Annotated[NonBlank, StringConstraints(max_length=200)] = Field(
        title="Name of the signatory", description="Full name of the person who signs."
    )


class SignCommitmentVisitor(SignCommitment):
    """The visiting organisation signs the Commitment to Quality."""

    model_config = ConfigDict(title="Sign the Commitment to Quality (visitor)")


class SignCommitmentHost(SignCommitment):
    """The host organisation signs the Commitment to Quality."""

    model_config = ConfigDict(title="Sign the Commitment to Quality (host)")


class SignCommitmentVisitorOfficer(SignCommitment):
    """An officer of the visitor's partnership signs the Commitment to Quality."""

    model_config = ConfigDict(title="Sign the Commitment to Quality (visitor's partnership)")


class SignCommitmentHostOfficer(SignCommitment):
    """An officer of the host's partnership signs the Commitment to Quality."""

    model_config = ConfigDict(title="Sign the Commitment to Quality (host's partnership)")


class HostConsentExtension(Form):
    """The host's consent to a requested extension of the visit."""

    model_config = ConfigDict(title="Consent to the extension")

    consent: bool = Field(title="The host consents to the extension",
                          description="Tick if the host agrees to receive the visitor until the new departure.")
    comment: Comment = None


class DecideExtension(Form):
    """The officer's decision on an extension (total stay at most one month; no extra grant above the cap)."""

    model_config = ConfigDict(title="Decide on the extension")

    approve: bool = Field(title="Approve the extension", description="Tick to extend the stay to the requested "
                          "departure; the total stay must stay within one month and the grant does not grow "
                          "above the cap.")
    comment: Comment = Field(default=None, validate_default=True)

    @field_validator("comment")
    @classmethod
    def _comment_when_refused(cls, value: str | None, info: ValidationInfo) -> str | None:
        if info.data.get("approve", True) is False:
            return _require(value, "is required when the extension is refused")
        return value


class EvidenceDocument(Form):
    """An uploaded evidence file, already stored by content hash."""

    model_config = ConfigDict(title="Evidence document")

    kind: Literal[
        "attendance_certificate", "ticket", "boarding_pass", "invoice", "registration_proof", "activity_report", "other"
    ] = Field(title="Kind of document", description="Attendance certificate, ticket, boarding pass, invoice, "
              "registration proof, activity report or other.")
    filename: Annotated[NonBlank, StringConstraints(max_length=255)] = Field(
        title="File name", description="Name of the uploaded file (at most 255 characters)."
    )
    sha256: str = Field(title="SHA-256", description="Hex digest of the file's content (64 characters).")
    size: int = Field(gt=0, le=MAX_UPLOAD_BYTES, title="Size in bytes", description="At most 20 MB.")

    @field_validator("sha256")
    @classmethod
    def _hex_digest(cls, value: str) -> str:
        value = value.strip().lower()
        if len(value) != 64 or any(c not in "0123456789abcdef" for c in value):
            raise PydanticCustomError("sha256", "must be 64 hexadecimal characters (a SHA-256 digest)")
        return value


class SubmitEvidence(Form):
    """Closing report and evidence of the visit, with a short feedback survey."""

    model_config = ConfigDict(title="Submit closing report and evidence")

    attended_days: list[dt.date] = Field(
        min_length=1, title="Attended days", description="Days the host certified as attended."
    )
    documents: list[EvidenceDocument] = Field(
        title="Documents", description="The format's checklist: the host's attendance certificate (exchange visit); "
        "the registration proof (conference or fair); the certificate and an activity report (individual exchange)."
    )
    activities_done: list[Annotated[NonBlank, StringConstraints(max_length=500)]] = Field(
        default_factory=list, title="Activities done", description="The activities that took place, one per line."
    )
    feedback_rating: int = Field(ge=1, le=5, title="Rating", description="1 (poor) to 5 (excellent).")
    feedback_comment: OptionalText = Field(default=None, title="Feedback",
                                           description="What went well and what could be better (optional).")
    matchmaking_meetings: int | None = Field(
        default=None, ge=0, validate_default=True, title="Matchmaking meetings held",
        description="Required for the conference/fair format.",
    )
    travel_costs: Money | None = Field(default=None, title="Travel costs (EUR)",
                                       description="Eligible travel costs; needed only for a call on actual costs.")
    accommodation_costs: Money | None = Field(default=None, title="Accommodation costs (EUR)",
                                              description="Eligible accommodation costs; actual-costs calls only.")
    subsistence_costs: Money | None = Field(default=None, title="Subsistence costs (EUR)",
                                            description="Eligible subsistence costs; actual-costs calls only.")

    @field_validator("attended_days")
    @classmethod
    def _unique_days_of_the_stay(cls, value: list[dt.date], info: ValidationInfo) -> list[dt.date]:
        if len(set(value)) != len(value):
            raise PydanticCustomError("duplicate_days", "must not list a day twice")
        arrive, depart = (info.context or {}).get("arrival"), (info.context or {}).get("departure")
        if arrive is not None and depart is not None:
            outside = outside_stay(value, arrive, depart)
            if outside:
                raise PydanticCustomError("outside_stay", "{days} not in the stay {arrive} to {depart}", {
                    "days": ", ".join(d.isoformat() for d in outside), "arrive": arrive.isoformat(),
                    "depart": depart.isoformat()})
        return sorted(value)

    @field_validator("documents")
    @classmethod
    def _format_checklist(cls, value: list[EvidenceDocument], info: ValidationInfo) -> list[EvidenceDocument]:
        missing = missing_documents(_format(info), [doc.kind for doc in value])
        if missing:
            raise PydanticCustomError("missing_document", "must include {documents}",
                                      {"documents": " and ".join(DOCUMENT_NAMES[kind] for kind in missing)})
        return value

    @field_validator("matchmaking_meetings")
    @classmethod
    def _meetings_of_a_fair(cls, value: int | None, info: ValidationInfo) -> int | None:
        if _format(info) in NEEDS_MEETINGS and not value:
            raise PydanticCustomError("meetings_required", "give the number of matchmaking meetings held at the "
                                      "conference or fair (at least 1)")
        return value



class ValidateEvidence(Form):
    """The officer's validation of the evidence (working days are shown); an override needs a reason."""

    model_config = ConfigDict(title="Validate the evidence")

    decision: Literal["accept", "return"] = Field(
        title="Decision", description="accept, or return the evidence to the visitor for correction."
    )
    comment: Comment = Field(default=None, validate_default=True)
    override_amount: GrantAmount | None = Field(
        default=None,
        title="Override amount (EUR)",
        description="Replaces the computed grant (at most 1,100.00); needs a reason and a second approver.",
    )
    override_reason: OptionalText = Field(default=None, validate_default=True, title="Reason for the override",
                                          description="Why the computed amount is replaced; required with an "
                                          "override amount.")

    @field_validator("comment")
    @classmethod
    def _comment_when_returned(cls, value: str | None, info: ValidationInfo) -> str | None:
        if info.data.get("decision") == "return":
            return _require(value, "is required when returning the evidence")
        return value

    @field_validator("override_reason")
    @classmethod
    def _reason_for_override(cls, value: str | None, info: ValidationInfo) -> str | None:
        if info.data.get("override_amount") is not None:
            return _require(value, "is required when overriding the amount")
        return value


class ApprovePayment(Form):
    """A second officer approves the payment of the grant (R-4EYES) or returns it to validation."""

    model_config = ConfigDict(title="Approve the payment")

    decision: Literal["approve", "return"] = Field(
        title="Decision", description="approve the payment, or return the claim to the evidence validation."
    )
    comment: Comment = Field(default=None, validate_default=True)

    @field_validator("comment")
    @classmethod
    def _comment_when_returned(cls, value: str | None, info: ValidationInfo) -> str | None:
        if info.data.get("decision") == "return":
            return _require(value, "is required when returning the claim")
        return value


class CorrectBankDetails(Form):
    """The visitor corrects the bank account after the bank rejected the payment."""

    model_config = ConfigDict(title="Correct the bank details")

    iban: str = Field(title="IBAN", description="International Bank Account Number of the visiting organisation.")
    bic: str | None = Field(default=None, title="BIC", description="Optional for SEPA payments.")
    account_holder: Annotated[NonBlank, StringConstraints(max_length=70)] = Field(
        title="Account holder", description="Name of the account holder as the bank knows it (at most 70 characters)."
    )

    @field_validator("iban")
    @classmethod
    def _valid_iban(cls, value: str) -> str:
        from schwifty import IBAN  # imported here: schwifty takes ~60 ms to import

        try:
            return IBAN(value).compact
        except ValueError as error:
            raise PydanticCustomError("iban", "IBAN is not valid: {reason}", {"reason": str(error)}) from None

    @field_validator("bic", mode="before")
    @classmethod
    def _valid_bic(cls, value: Any) -> Any:
        value = _blank_to_none(value)
        if value is None:
            return None
        from schwifty import BIC

        try:
            return BIC(str(value)).compact
        except ValueError as error:
            raise PydanticCustomError("bic", "BIC is not valid: {reason}", {"reason": str(error)}) from None


class VerifyBankDetails(Form):
    """Finance verifies the corrected bank details before the claim is queued again."""

    model_config = ConfigDict(title="Verify the bank details")

    verified: bool = Field(title="The bank details are verified",
                           description="Tick when the corrected IBAN and holder were checked; else say why.")
    comment: Comment = Field(default=None, validate_default=True)

    @field_validator("comment")
    @classmethod
    def _comment_when_not_verified(cls, value: str | None, info: ValidationInfo) -> str | None:
        if info.data.get("verified", True) is False:
            return _require(value, "is required when the details are not verified")
        return value


# --------------------------------------------------------------------------- call


class PrepareCall(Form):
    """The administrator confirms the call is ready to be published."""

    model_config = ConfigDict(title="Prepare the call")

    confirm: Confirmed = Field(title="The call is ready to be published",
                               description="Tick to publish the call (the officers are emailed).")
    notes: OptionalText = Field(default=None, title="Notes", description="Kept in the history of the call (optional).")


class Reassignment(Form):
    """The officer's override: this visitor application goes to this host offer instead."""

    model_config = ConfigDict(title="Reassignment")

    visitor_application_id: int = Field(gt=0, title="Visitor application",
                                        description="Id of the visitor's application to move.")
    host_application_id: int = Field(gt=0, title="Host offer (application id)",
                                     description="Id of the published host offer the visitor goes to instead.")


class ReviewProposals(Form):
    """An officer reviews the proposals of a matching round before they are sent: drops some, or puts a
    visitor with another host (checked as the solver checks a pair; an override that would be refused
    is named with its reasons and nothing is done)."""

    model_config = ConfigDict(title="Review the proposals")

    confirm: Confirmed = Field(title="Send the remaining proposals",
                               description="Tick to send the proposals not dropped to both organisations.")
    drop_proposals: list[Annotated[int, Field(gt=0)]] = Field(
        default_factory=list, title="Proposals to drop", description="Ids of the proposals the officer removes."
    )
    reassign: list[Reassignment] = Field(
        default_factory=list, title="Reassignments",
        description="Visitors the officer puts with another host offer than the one proposed.",
    )
    comment: Comment = None

    @field_validator("drop_proposals")
    @classmethod
    def _unique_ids(cls, value: list[int]) -> list[int]:
        if len(set(value)) != len(value):
            raise PydanticCustomError("duplicate_ids", "must not list a proposal twice")
        return value

    @field_validator("reassign")
    @classmethod
    def _one_host_per_visitor(cls, value: list[Reassignment]) -> list[Reassignment]:
        visitors = [r.visitor_application_id for r in value]
        if len(set(visitors)) != len(visitors):
            raise PydanticCustomError("duplicate_visitor", "must not reassign a visitor twice")
        return value


# --------------------------------------------------------------------------- hosting


class ApproveHost(Form):
    """An officer approves or rejects a host's offer."""

    model_config = ConfigDict(title="Approve the host offer")

    decision: Literal["approve", "reject"] = Field(
        title="Decision", description="approve to publish the offer, or reject it (a comment is then required)."
    )
    comment: Comment = Field(default=None, validate_default=True)

    @field_validator("comment")
    @classmethod
    def _comment_when_rejected(cls, value: str | None, info: ValidationInfo) -> str | None:
        if info.data.get("decision") == "reject":
            return _require(value, "is required when rejecting")
        return value


class AssessRegistration(Form):
    """An officer of the chosen partnership assesses an organisation's registration."""

    model_config = ConfigDict(title="Assess the registration")

    decision: Literal["approve", "reject", "request_info"] = Field(
        title="Decision", description="approve (the organisation may apply), reject (say why), or request info "
                                      "(ask the applicant a question)."
    )
    reason: OptionalText = Field(default=None, validate_default=True, title="Reason",
                                 description="Why the registration is rejected (told to the applicant).")
    question: OptionalText = Field(default=None, validate_default=True, title="Question",
                                   description="What the applicant should tell you (told to the applicant).")

    @field_validator("reason")
    @classmethod
    def _reason_when_rejected(cls, value: str | None, info: ValidationInfo) -> str | None:
        if info.data.get("decision") == "reject":
            return _require(value, "is required when rejecting: the applicant is told why")
        return value

    @field_validator("question")
    @classmethod
    def _question_when_asking(cls, value: str | None, info: ValidationInfo) -> str | None:
        if info.data.get("decision") == "request_info":
            return _require(value, "is required when asking for information: what should the applicant tell you?")
        return value


class AnswerRegistrationQuestion(ProvideInformation):
    """The applicant answers the partnership's question about its registration."""

    model_config = ConfigDict(title="Answer the partnership's question")


FORMS: dict[str, type[BaseModel]] = {
    "assess_application": AssessApplication,
    "provide_information": ProvideInformation,
    "visitor_accept_match": VisitorAcceptMatch,
    "host_accept_match": HostAcceptMatch,
    "agree_commitment": AgreeCommitment,
    "sign_commitment_visitor": SignCommitmentVisitor,
    "sign_commitment_host": SignCommitmentHost,
    "sign_commitment_visitor_officer": SignCommitmentVisitorOfficer,
    "sign_commitment_host_officer": SignCommitmentHostOfficer,
    "host_consent_extension": HostConsentExtension,
    "decide_extension": DecideExtension,
    "submit_evidence": SubmitEvidence,
    "validate_evidence": ValidateEvidence,
    "approve_payment": ApprovePayment,
    "correct_bank_details": CorrectBankDetails,
    "verify_bank_details": VerifyBankDetails,
    "prepare_call": PrepareCall,
    "review_proposals": ReviewProposals,
    "approve_host": ApproveHost,
    "assess_registration": AssessRegistration,
    "answer_registration_question": AnswerRegistrationQuestion,
}


def form_for(task_id: str) -> type[BaseModel]:
    """The form model of the user task `task_id` (its BPMN id)."""
    try:
        return FORMS[task_id]
    except KeyError:
        raise KeyError(f"no form for user task {task_id!r}; known tasks: {', '.join(sorted(FORMS))}") from None


def validate_form(task_id: str, data: dict[str, Any], context: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Validate `data` against the form of `task_id`, and against its case when `context` is given
    (`tasks.form_rules`: R-DUR for agreed dates, the stay and the format's evidence checklist); return
    it JSON-able (dates ISO, Decimals as strings)."""
    from tasks.form_rules import check_in_context

    model = form_for(task_id)
    if not isinstance(data, dict):
        raise FormError(task_id, [{"field": "", "message": "the form data must be a JSON object"}])
    try:
        form = model.model_validate(data, context=context).model_dump(mode="json")
    except ValidationError as error:
        raise FormError.from_validation_error(task_id, error) from None
    problems = check_in_context(task_id, form, context or {})
    if problems:
        raise FormError(task_id, problems)
    return form
