"""What an administrator gives for a call (SPEC §14), and every check of it, each naming its field.

`CallIn` is a new call, `CallPatch` the fields of a draft to change (the others stay). The checks
that need nothing but the values are the models' own; `check_call` adds those that read the
database (the partnerships exist, the rule set exists, the code is free) and those between fields
(windows in order, the matching deadline after the close, events inside the call's dates), and
raises one `Invalid` naming every field that is wrong."""
from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from pydantic_core import PydanticCustomError
from sqlalchemy import select
from sqlalchemy.orm import Session

from rules.values import MAX_MONEY
from workflows.services import FieldError, Invalid

FORMATS = ("exchange_visit", "conference_fair", "individual_exchange")
EVENT_KINDS = ("virtual_marketplace", "joint_learning_event", "matchmaking", "conference_fair")
CODE = re.compile(r"^[A-Z0-9][A-Z0-9-]{1,39}$")
MAX_EVENTS = 20
MAX_REASON = 2000

Format = Literal["exchange_visit", "conference_fair", "individual_exchange"]
EventKind = Literal["virtual_marketplace", "joint_learning_event", "matchmaking", "conference_fair"]


def budget_amount(value: Any, field: str = "budget") -> Decimal:
    """A positive amount in euros with at most two decimals, as Decimal; else `Invalid` naming `field`."""
    if isinstance(value, bool) or value is None or (isinstance(value, str) and not value.strip()):
        raise Invalid.field(field, "give the budget as an amount in euros, e.g. 30000.00")
    try:
        amount = value if isinstance(value, Decimal) else Decimal(str(value).strip())
    except ArithmeticError:
        raise Invalid.field(field, f"{str(value)[:40]!r} is not an amount in euros") from None
    if not amount.is_finite():
        raise Invalid.field(field, f"{str(value)[:40]!r} is not an amount in euros")
    if amount <= 0:
        raise Invalid.field(field, f"EUR {amount} is not a positive amount")
    if amount > MAX_MONEY:
        raise Invalid.field(field, f"EUR {amount} is more than any call's budget can be")
    if amount != amount.quantize(Decimal("0.01")):
        raise Invalid.field(field, f"{amount} has more than two decimals: euros and cents only")
    return amount.quantize(Decimal("0.01"))


def _wrong(message: str) -> PydanticCustomError:
    """A validator's refusal whose message is the sentence itself (no "Value error, " before it)."""
    return PydanticCustomError("call", "{message}", {"message": message})


def _budget(value: Any) -> Decimal:
    try:
        return budget_amount(value)
    except Invalid as err:
        raise _wrong(err.fields[0].msg) from None


class EventIn(BaseModel):
    """One marketplace window or event of the call."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    kind: EventKind = Field(description="virtual_marketplace, joint_learning_event, matchmaking or conference_fair")
    title: str = Field(min_length=2, max_length=200)
    starts_on: date
    ends_on: date
    place: str = Field("online", min_length=1, max_length=200, description="a city, or online")


class _CallFields(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    @field_validator("budget", mode="before", check_fields=False)
    @classmethod
    def _money(cls, value: Any) -> Any:
        return _budget(value)

    @field_validator("matching_deadline", check_fields=False)
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise _wrong("needs a time zone, e.g. 2027-05-28T18:00:00+02:00")
        return value

    @field_validator("formats", check_fields=False)
    @classmethod
    def _formats(cls, value: list[str] | None) -> list[str] | None:
        if value is not None:
            if not value:
                raise _wrong("choose at least one format")
            if len(set(value)) != len(value):
                raise _wrong("a format is named twice")
        return value

    @field_validator("partnerships", check_fields=False)
    @classmethod
    def _codes(cls, value: list[str] | None) -> list[str] | None:
        if value is not None and len({v.upper() for v in value}) != len(value):
            raise _wrong("a partnership is named twice")
        return value


class CallIn(_CallFields):
    """A new call, kept as a draft until it is published."""

    code: str = Field(min_length=2, max_length=40, description="upper-case letters, digits and hyphens, e.g. "
                                                                "CXP-2028-01")
    title: str = Field(min_length=3, max_length=200)
    lead_partnership: str = Field(min_length=1, max_length=40, description="the code of the lead partnership")
    partnerships: list[str] = Field([], max_length=50, description="the codes of the other partnerships")
    opens_on: date
    closes_on: date
    matching_deadline: datetime = Field(description="when the last matching round must be done, with its time zone")
    budget: Decimal = Field(description="EUR, a positive amount with at most two decimals")
    formats: list[Format] = Field(["exchange_visit"], max_length=3)
    rule_set_version: str = Field(min_length=1, max_length=40, description="a version of GET /api/rule-sets")
    events: list[EventIn] = Field([], max_length=MAX_EVENTS)

    @field_validator("code")
    @classmethod
    def _code(cls, value: str) -> str:
        code = value.upper()
        if not CODE.match(code):
            raise _wrong("use upper-case letters, digits and hyphens only (e.g. CXP-2028-01)")
        return code


class CallPatch(_CallFields):
    """The fields of a draft call to change; `events`, when given, replaces the whole list."""

    title: str | None = Field(None, min_length=3, max_length=200)
    lead_partnership: str | None = Field(None, min_length=1, max_length=40)
    partnerships: list[str] | None = Field(None, max_length=50)
    opens_on: date | None = None
    closes_on: date | None = None
    matching_deadline: datetime | None = None
    budget: Decimal | None = None
    formats: list[Format] | None = Field(None, max_length=3)
    rule_set_version: str | None = Field(None, min_length=1, max_length=40)
    events: list[EventIn] | None = Field(None, max_length=MAX_EVENTS)


def _message(error: Mapping[str, Any]) -> str:
    text = str(error.get("msg", "is not valid")).removeprefix("Value error, ")
    if error.get("type") == "missing":
        return "is required"
    if error.get("type") == "extra_forbidden":
        return "is not a field of a call"
    return text


def parse(model: type[BaseModel], data: Any) -> Any:
    """`data` as `model`, or `Invalid` naming every field pydantic refused."""
    if isinstance(data, model):
        return data
    try:
        return model.model_validate(data)
    except ValidationError as err:
        fields = [FieldError(tuple(e["loc"]) or ("body",), _message(e)) for e in err.errors(include_url=False)]
        raise Invalid("; ".join(f"{f.field}: {f.msg}" for f in fields), fields) from None


@dataclass
class CheckedCall:
    """A call's values after every check: what `call_admin` writes."""

    values: dict[str, Any]
    lead_id: int
    partnership_ids: list[int]


def check_call(session: Session, values: Mapping[str, Any], today: date, new_code: str | None = None) -> CheckedCall:
    """The database and cross-field checks of a call's `values` (a `CallIn`'s fields, or a draft's
    merged with a patch); `Invalid` naming each field that is wrong. A check whose values are missing
    (a field already refused by its own check) is left out."""
    from workflows.db.models import Call, Partnership, RuleSetRecord

    errors: list[FieldError] = []

    def wrong(loc: tuple[str | int, ...], msg: str) -> None:
        errors.append(FieldError(loc, msg))

    if new_code is not None and session.scalar(select(Call.id).where(Call.code == new_code)) is not None:
        wrong(("code",), f"{new_code} is already the code of another call")
    codes = {p.code: p.id for p in session.scalars(select(Partnership))}
    lead = str(values.get("lead_partnership") or "").upper()
    if lead not in codes:
        wrong(("lead_partnership",), f"{values['lead_partnership']!r} is no partnership (known: "
                                     f"{', '.join(sorted(codes)) or 'none yet'})" if lead else "is required")
    others = []
    for i, code in enumerate(values.get("partnerships") or []):
        if code.upper() not in codes:
            wrong(("partnerships", i), f"{code!r} is no partnership (known: {', '.join(sorted(codes)) or 'none'})")
        elif code.upper() != lead:
            others.append(codes[code.upper()])
    if "rule_set_version" in values and session.get(RuleSetRecord, values["rule_set_version"]) is None:
        known = ", ".join(sorted(session.scalars(select(RuleSetRecord.version))))
        wrong(("rule_set_version",), f"{values['rule_set_version']!r} is no rule set version (known: {known})")
    opens, closes, deadline = values.get("opens_on"), values.get("closes_on"), values.get("matching_deadline")
    if closes is not None:
        if opens is not None and closes <= opens:
            wrong(("closes_on",), f"{closes} is not after the opening on {opens}: the window must be in order")
        if closes < today:
            wrong(("closes_on",), f"{closes} is in the past (today is {today})")
    deadline_day = deadline.astimezone(_brussels()).date() if deadline is not None else None
    if deadline_day is not None and closes is not None and deadline_day <= closes:
        wrong(("matching_deadline",), f"{deadline_day} is not after the call closes on {closes}: matching "
                                      "ends after the close")
    for i, event in enumerate(values.get("events") or []):
        starts, ends = _get(event, "starts_on"), _get(event, "ends_on")
        if ends < starts:
            wrong(("events", i, "ends_on"), f"{ends} is before the event starts on {starts}")
        if opens is not None and starts < opens:
            wrong(("events", i, "starts_on"), f"{starts} is before the call opens on {opens}")
        if deadline_day is not None and ends > deadline_day:
            wrong(("events", i, "ends_on"), f"{ends} is after the matching deadline ({deadline_day})")
    if errors:
        raise Invalid("; ".join(f"{e.field}: {e.msg}" for e in errors), errors)
    return CheckedCall(dict(values), codes[lead], others)


def validate_call(session: Session, model: type[CallIn] | type[CallPatch], data: Any, today: date,
                  base: Mapping[str, Any] | None = None) -> tuple[Any, CheckedCall, dict[str, Any]]:
    """`data` as `model` (a new call, or a patch merged onto the draft's `base`) with every check:
    (the model, the checked call, the fields given). Each wrong field is named at once, the fields'
    own checks and those between fields and against the database together."""
    errors: list[FieldError] = []
    bad: set[str | int] = set()
    given: Any = None
    try:
        given = parse(model, data)
    except Invalid as err:
        errors, bad = list(err.fields), {f.loc[0] for f in err.fields}
    if given is not None:
        fields = given.model_dump(exclude_unset=base is not None, exclude={"code"})
    else:  # what did pass its own check still meets the others
        rest = {k: v for k, v in data.items() if k not in bad and k != "code"} if isinstance(data, Mapping) else {}
        try:
            fields = CallPatch.model_validate(rest).model_dump(exclude_unset=True)
        except ValidationError:
            fields = {}
    fields = {k: v for k, v in fields.items() if v is not None}
    code = None
    if model is CallIn and "code" not in bad:
        code = given.code if given is not None else str((data or {}).get("code", "")).upper() or None
    try:
        checked = check_call(session, {**(base or {}), **fields}, today, new_code=code)
    except Invalid as err:
        errors += [f for f in err.fields if f.loc[0] not in bad]
    if errors:
        raise Invalid("; ".join(f"{e.field}: {e.msg}" for e in errors), errors)
    return given, checked, fields


def _get(event: Any, name: str) -> Any:
    return event[name] if isinstance(event, Mapping) else getattr(event, name)


def _brussels() -> Any:
    from zoneinfo import ZoneInfo

    return ZoneInfo("Europe/Brussels")


def check_reason(reason: str | None, what: str) -> str:
    """A reason a person must give (`what`: "closing a call early"), trimmed; else `Invalid`."""
    text = (reason or "").strip()
    if not text:
        raise Invalid.field("reason", f"{what} needs a reason")
    if len(text) > MAX_REASON:
        raise Invalid.field("reason", f"must be at most {MAX_REASON} characters")
    return text
