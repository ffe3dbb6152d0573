"""`cxp import`: partnerships, users, organisations, calls and applications from JSON (or CSV),
validated with pydantic and written in one transaction — a bad record writes nothing. Every message
names its record by its path in the file (`organisations[2].country`, counted from 0); a code, legal
id or username already used — earlier in the file or in the database — is refused before anything
is written."""
from __future__ import annotations

import csv
import io
import json
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, EmailStr, Field, ValidationError, ValidationInfo, field_validator
from sqlalchemy import select
from sqlalchemy.orm import Session

from workflows.app import App
from workflows.audit import SYSTEM
from workflows.db.models import (
    Application,
    Call,
    CallEvent,
    Organisation,
    Partnership,
    RuleSetRecord,
    User,
)
from workflows.services import ServiceError
from workflows.services.lifecycle import start, submit_application

Country = str


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


def _country(value: str) -> str:
    from rules.values import normalise_country

    return normalise_country("country", value)


class PartnershipIn(_In):
    code: str = Field(min_length=2, max_length=40)
    name: str = Field(min_length=2, max_length=200)
    country: str
    debtor_name: str = Field(min_length=1, max_length=140)
    debtor_iban: str
    debtor_bic: str | None = None

    _c = field_validator("country")(lambda cls, v: _country(v))

    @field_validator("debtor_iban")
    @classmethod
    def _iban(cls, v: str) -> str:
        from schwifty import IBAN

        return str(IBAN(v))


class OrganisationIn(_In):
    legal_id: str = Field(min_length=3, max_length=40)
    legal_name: str = Field(min_length=2, max_length=200)
    org_type: Literal["cluster_organisation", "sme", "scaleup_support_organisation"]
    country: str
    subdivision: str | None = None
    region_category: Literal["less_developed", "transition", "more_developed"] | None = None
    city: str
    latitude: float = Field(ge=-90, le=90)
    longitude: float = Field(ge=-180, le=180)
    sectors: list[str] = []
    contact_email: EmailStr
    iban: str | None = None
    bic: str | None = None
    account_holder: str | None = None
    cluster_member: bool = False
    host_prior_approval: bool = False
    partnership: str

    _c = field_validator("country")(lambda cls, v: _country(v))

    @field_validator("subdivision")
    @classmethod
    def _subdivision(cls, v: str | None, info: ValidationInfo) -> str | None:
        """One the holidays library knows for the country (its working days count them); the same check
        as a registration's (workflows/services/registration_inputs.py)."""
        from rules.working_days import normalise_subdivision

        country = info.data.get("country")
        return v if v is None or country is None else normalise_subdivision(country, v)

    @field_validator("iban")
    @classmethod
    def _iban(cls, v: str | None) -> str | None:
        from schwifty import IBAN

        return str(IBAN(v)) if v else None


class UserIn(_In):
    username: str = Field(min_length=2, max_length=80)
    display_name: str
    email: EmailStr
    role: Literal["applicant", "officer", "finance", "auditor", "administrator"]
    partnership: str | None = None
    organisation: str | None = None


class EventIn(_In):
    kind: Literal["virtual_marketplace", "joint_learning_event", "matchmaking", "conference_fair"]
    title: str
    starts_on: date
    ends_on: date
    place: str = "online"


class CallIn(_In):
    code: str = Field(min_length=2, max_length=40)
    title: str
    lead_partnership: str
    partnerships: list[str] = []
    opens_on: date
    closes_on: date
    matching_deadline: datetime
    budget: Decimal = Field(gt=0, decimal_places=2)
    rule_set_version: str = "2026.1"
    formats: list[Literal["exchange_visit", "conference_fair", "individual_exchange"]] = ["exchange_visit"]
    events: list[EventIn] = []

    @field_validator("matching_deadline")
    @classmethod
    def _aware(cls, v: datetime) -> datetime:
        if v.tzinfo is None:
            raise ValueError("needs a timezone, e.g. 2027-05-28T18:00:00+02:00")
        return v


class ApplicationIn(_In):
    call: str
    organisation: str
    role: Literal["visitor", "host"]
    format: Literal["exchange_visit", "conference_fair", "individual_exchange"] = "exchange_visit"
    date_from: date
    date_to: date
    sectors: list[str] = []
    wished_countries: list[str] = []

    @field_validator("wished_countries")
    @classmethod
    def _countries(cls, v: list[str]) -> list[str]:
        return [_country(c) for c in v]

    capacity: int = Field(0, ge=0, le=50)
    motivation: str = ""
    declaration_given: bool = False
    audit_rights_accepted: bool = False


class ImportFile(_In):
    partnerships: list[PartnershipIn] = []
    organisations: list[OrganisationIn] = []
    users: list[UserIn] = []
    calls: list[CallIn] = []
    applications: list[ApplicationIn] = []


def record_path(loc: tuple[Any, ...]) -> str:
    """`("organisations", 2, "country")` as `organisations[2].country`."""
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def _message(error: Any) -> str:
    """Pydantic's message, or the rule's own sentence without its field name (the path names it)."""
    from rules.errors import RuleInputError

    cause = (error.get("ctx") or {}).get("error")
    if isinstance(cause, RuleInputError):
        return cause.message
    return str(error["msg"]).removeprefix("Value error, ")


def _messages(err: ValidationError, source: str) -> str:
    parts = [f"{record_path(e['loc'])}: {_message(e)}" if e["loc"] else _message(e) for e in err.errors()[:20]]
    return f"{source}: " + "; ".join(parts)


def read_utf8(path: Path, field: str = "FILE") -> str:
    """A file a person gives as UTF-8 text; else one sentence naming the first byte that is not."""
    data = path.read_bytes()
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as err:
        raise ServiceError(f"{field}: {path.name} is not UTF-8 text (byte 0x{data[err.start]:02x} at offset "
                           f"{err.start})") from None


def load(path: Path) -> ImportFile:
    if not path.is_file():
        raise ServiceError(f"FILE: {path} does not exist")
    text = read_utf8(path)
    try:
        if path.suffix.lower() == ".csv":
            kind = path.stem.split("_")[0].lower()
            if kind not in ImportFile.model_fields:
                raise ServiceError(f"FILE: a CSV file is named after what it holds (e.g. organisations.csv), not {path.name}")
            rows = [{k: v for k, v in row.items() if v not in ("", None)} for row in csv.DictReader(io.StringIO(text))]
            for row in rows:
                for key in ("sectors", "wished_countries", "partnerships"):
                    if key in row:
                        row[key] = [s.strip() for s in row[key].split(";") if s.strip()]
            return ImportFile.model_validate({kind: rows})
        return ImportFile.model_validate_json(text)
    except ValidationError as err:
        raise ServiceError(_messages(err, path.name)) from None
    except json.JSONDecodeError as err:  # pragma: no cover - pydantic wraps it
        raise ServiceError(f"{path.name}: not valid JSON ({err})") from None


# What must be unique, per section of the file: (section, key field, model, what it is, its name).
_UNIQUE = (
    ("partnerships", "code", Partnership, "partnership", "name"),
    ("organisations", "legal_id", Organisation, "organisation", "legal_name"),
    ("users", "username", User, "user", "display_name"),
    ("calls", "code", Call, "call", "title"),
)


def check_unique(s: Session, data: ImportFile) -> None:
    """Refuse a key used twice in the file, or already used in the database, naming both records."""
    for section, key, model, what, name in _UNIQUE:
        records = getattr(data, section)
        first: dict[str, int] = {}
        for i, record in enumerate(records):
            value = getattr(record, key)
            if value in first:
                earlier = records[first[value]]
                raise ServiceError(f"{section}[{i}].{key}: {value!r} is already used by {what} "
                                   f"{getattr(earlier, name)!r} ({section}[{first[value]}] of this file)")
            first[value] = i
        if not first:
            continue
        column = getattr(model, key)
        existing = s.scalars(select(model).where(column.in_(list(first))).order_by(column)).first()
        if existing is not None:
            value = getattr(existing, key)
            raise ServiceError(f"{section}[{first[value]}].{key}: {value!r} is already used by {what} "
                               f"{getattr(existing, name)!r}")


def import_file(app: App, file: str) -> dict[str, Any]:
    data = load(Path(file))
    with app.uow() as uow:
        s = uow.session
        check_unique(s, data)

        def one(model: Any, column: Any, key: str, what: str) -> Any:
            row = s.scalars(select(model).where(column == key)).first()
            if row is None:
                raise ServiceError(f"{what}: '{key}' is neither in the file nor in the database")
            return row

        for p in data.partnerships:
            s.add(Partnership(**p.model_dump()))
        s.flush()
        for i, o in enumerate(data.organisations):
            fields = o.model_dump(exclude={"partnership"})
            s.add(Organisation(**fields, partnership_id=one(Partnership, Partnership.code, o.partnership,
                                                            f"organisations[{i}].partnership").id))
        s.flush()
        for i, u in enumerate(data.users):
            s.add(User(username=u.username, display_name=u.display_name, email=u.email, role=u.role,
                       partnership_id=one(Partnership, Partnership.code, u.partnership, f"users[{i}].partnership").id
                       if u.partnership else None,
                       organisation_id=one(Organisation, Organisation.legal_id, u.organisation,
                                           f"users[{i}].organisation").id if u.organisation else None))
        calls = []
        for i, c in enumerate(data.calls):
            if s.get(RuleSetRecord, c.rule_set_version) is None:
                raise ServiceError(f"calls[{i}].rule_set_version: unknown rule set '{c.rule_set_version}'")
            if c.closes_on < c.opens_on:
                raise ServiceError(f"calls[{i}].closes_on: {c.code} closes before it opens")
            lead = one(Partnership, Partnership.code, c.lead_partnership, f"calls[{i}].lead_partnership")
            members = [one(Partnership, Partnership.code, code, f"calls[{i}].partnerships[{j}]")
                       for j, code in enumerate(c.partnerships)]
            call = Call(code=c.code, title=c.title, lead_partnership_id=lead.id, opens_on=c.opens_on,
                        closes_on=c.closes_on, matching_deadline=c.matching_deadline, budget=c.budget,
                        rule_set_version=c.rule_set_version, formats=list(c.formats), status="draft",
                        partnerships=members or [lead],
                        events=[CallEvent(**e.model_dump()) for e in c.events])
            s.add(call)
            calls.append(call)
        s.flush()
        for call in calls:
            start(app, uow, "call", "call", call.id, {"call_id": call.id, "partnership_id": call.lead_partnership_id,
                                                      "subject_ref": call.code})
        submitted = 0
        for i, a in enumerate(data.applications):
            if a.date_to < a.date_from:
                raise ServiceError(f"applications[{i}].date_to: before date_from for {a.organisation}")
            call = one(Call, Call.code, a.call, f"applications[{i}].call")
            org = one(Organisation, Organisation.legal_id, a.organisation, f"applications[{i}].organisation")
            row = Application(**a.model_dump(exclude={"call", "organisation"}), call_id=call.id,
                              organisation_id=org.id, partnership_id=org.partnership_id, submitted_at=uow.now())
            s.add(row)
            s.flush()
            submit_application(app, uow, row)
            submitted += 1
        counts = {"partnerships": len(data.partnerships), "organisations": len(data.organisations),
                  "users": len(data.users), "calls": len(data.calls), "applications": submitted}
        uow.audit(SYSTEM, "import", after=counts)
        uow.commit()
        return counts
