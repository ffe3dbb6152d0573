"""The application form of SPEC §13, one pydantic model for the page, the validation and the API
(`POST /api/applications`, `PATCH /api/applications/{id}` for a draft), and the outputs the applicant
sees: the application with its eligibility outcome, every reason in words and what to do about it.

What the form alone can judge is judged here (lengths, ISO countries, dates in order); what needs the
call, the clock or the organisation's other applications is judged by `applications.problems`, which
names each field the same way."""
from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

Text40 = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=40)]
Text120 = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=120)]
Format = Literal["exchange_visit", "conference_fair", "individual_exchange"]
MAX_MOTIVATION = 2000

# What an applicant can do about each reason of R-ELIG (rules/eligibility.py), in words.
WHAT_TO_DO = {
    "ORG_TYPE": "Only cluster organisations, SMEs and scale-up support organisations take part; ask your "
                "partnership's officer if your organisation's type was recorded wrongly.",
    "COUNTRY": "Only organisations in the programme's countries take part; ask your partnership's officer "
               "if your organisation's country was recorded wrongly.",
    "SME_NOT_CLUSTER_MEMBER": "Join a cluster profiled on the European Cluster Collaboration Platform, have "
                              "your partnership record it, and apply again.",
    "HOST_NEEDS_APPROVAL": "Ask your partnership's officer to record a prior approval to host, then apply again.",
    "SAME_COUNTRY": "Choose a host in another country.",
    "ALREADY_VISITED": "An organisation visits once; you may still apply as a host.",
    "DUPLICATE_APPLICATION": "Withdraw your other visitor application first, or wait until it ends.",
    "FORMAT_NOT_ALLOWED": "Apply again with a format the call allows.",
    "CALL_CLOSED": "Apply to a call that is open now (see /calls).",
    "NO_DECLARATION": "Apply again and tick the declaration on honour.",
    "NO_AUDIT_RIGHTS": "Apply again and accept the audit rights.",
}


class ApplicationIn(BaseModel):
    """An application as the applicant fills it in. `submit: false` keeps it as a draft (the ticks and
    the role's required fields are then asked for only when it is sent)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    call: Text40 = Field(description="the call's code, e.g. CXP-2027-01 (an open call)")
    role: Literal["visitor", "host"]
    format: Format = Field("exchange_visit", description="a format the call allows")
    date_from: date = Field(description="visitor: first wished day; host: first day the offer is available")
    date_to: date = Field(description="visitor: last wished day; host: last day the offer is available")
    sectors: list[Text40] = Field(default_factory=list, max_length=10)
    wished_countries: list[Text40] = Field(default_factory=list, max_length=10,
                                           description="visitor: ISO 3166-1 alpha-2 codes of the wished host countries")
    motivation: str = Field("", max_length=MAX_MOTIVATION, description="visitor: why this exchange")
    capacity: int = Field(0, ge=0, le=50, description="host: the number of visitors it can receive")
    topics: list[Text120] = Field(default_factory=list, max_length=10, description="host: what visitors learn")
    activities_offered: list[Text120] = Field(default_factory=list, max_length=10,
                                              description="host: the activities of the visit")
    declaration_given: bool = Field(False, description="the declaration on honour: no other EU funding for the trip")
    audit_rights_accepted: bool = Field(False, description="the audit rights of the Commission and the partnership")
    submit: bool = Field(True, description="false keeps a draft")

    @field_validator("wished_countries")
    @classmethod
    def _countries(cls, value: list[str]) -> list[str]:
        from rules.values import normalise_country

        return [normalise_country("wished_countries", c) for c in value]

    @field_validator("date_to")
    @classmethod
    def _in_order(cls, value: date, info: Any) -> date:
        start = info.data.get("date_from")
        if start is not None and value < start:
            raise ValueError(f"{value} is before the first day {start}")
        return value


class ApplicationPatch(BaseModel):
    """The fields of a draft to change; the others keep their values. The result is checked as a whole."""

    model_config = ConfigDict(extra="forbid")

    call: str | None = None
    role: Literal["visitor", "host"] | None = None
    format: Format | None = None
    date_from: date | None = None
    date_to: date | None = None
    sectors: list[str] | None = None
    wished_countries: list[str] | None = None
    motivation: str | None = None
    capacity: int | None = None
    topics: list[str] | None = None
    activities_offered: list[str] | None = None
    declaration_given: bool | None = None
    audit_rights_accepted: bool | None = None


class WithdrawIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field("", max_length=500, description="why (kept on the history)")


class PreferencesIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    offers: list[int] = Field(max_length=3, description="host offers (their application ids), at most three")


class ReasonOut(BaseModel):
    code: str
    text: str = Field(description="the reason in words")
    action: str = Field("", description="what the applicant can do about it")


class EligibilityOut(BaseModel):
    eligible: bool | None = Field(description="null while a draft (not judged yet)")
    reasons: list[ReasonOut]
    summary: str = Field(description="the outcome in one sentence, with what comes next")


class ApplicationOut(BaseModel):
    id: int
    status: str
    call: str
    call_title: str
    organisation: str
    role: str
    format: str
    date_from: date
    date_to: date
    sectors: list[str]
    wished_countries: list[str]
    motivation: str
    capacity: int
    topics: list[str]
    activities_offered: list[str]
    declaration_given: bool
    audit_rights_accepted: bool
    submitted_at: datetime | None
    exchange: str | None = Field(None, description="the exchange reference of a submitted visitor application")
    preferred_offers: list[int]
    eligibility: EligibilityOut
    may_edit: bool
    may_withdraw: bool


def eligibility_out(status: str, stored: dict[str, Any] | None, role: str) -> EligibilityOut:
    """The eligibility outcome as the applicant reads it (`stored` is `Decision.to_dict()`)."""
    if status == "draft":
        return EligibilityOut(eligible=None, reasons=[], summary="A draft: it is judged when you submit it.")
    if stored is None:
        return EligibilityOut(eligible=None, reasons=[], summary="Submitted: the eligibility check is under way.")
    reasons = [ReasonOut(code=r["code"], text=r.get("message") or r["code"], action=WHAT_TO_DO.get(r["code"], ""))
               for r in stored.get("reasons", [])]
    if stored.get("ok"):
        after = ("an officer of the partnership assesses it, then the matching round looks for a host"
                 if role == "visitor" else "an officer of the partnership approves the offer, then it is published")
        return EligibilityOut(eligible=True, reasons=[], summary=f"Eligible: {after}.")
    return EligibilityOut(eligible=False, reasons=reasons,
                          summary=f"Not eligible, for {len(reasons)} reason(s) below; nothing more happens to it.")
