"""What anyone may read without signing in (SPEC §13, "Public pages"): the published calls — their
windows, formats, events, partnerships and the rules of their rule set in words — and the published
host offers, filtered and paged.

These reads take no `Principal`: they are the same for everyone, and they hold nothing personal — no
person's name, no email, no IBAN, no legal id; an organisation is shown by its legal name, country and
city. A draft call is never shown (it answers "not found", as an unknown code does), nor is a closed
call listed, nor an offer of a deactivated organisation, of a call that is not published, or without a
place left.

A host offer is a host application (`role == "host"`) whose process published it (status
`published`, after its eligibility and the officer's approval): the same offers the matching round
takes (`Programme.matching_pool`), with the same places left — its capacity less the visits matched or
beyond and the proposals waiting for an answer. The page of offers is one SQL query (the total comes
with it as a window count), whatever the number of offers."""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from functools import lru_cache
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator
from sqlalchemy import Select, func, literal, select, union_all
from sqlalchemy.orm import selectinload

from reports.labels import SECTORS, label
from rules.ruleset import RuleSet, rule_set_from_dict
from workflows.app import App
from workflows.db.models import Application, Call, Exchange, MatchProposal, Organisation, RuleSetRecord
from workflows.services import NotFound
from workflows.services.access import Principal
from workflows.uow import UnitOfWork

PUBLISHED = ("published", "open")  # a call is public from its publication until it is closed
Phase = Literal["coming", "open", "applications_closed", "closed"]
FormatCode = Literal["exchange_visit", "conference_fair", "individual_exchange"]
MAX_PAGE_SIZE = 100


# ---- outputs ---------------------------------------------------------------------------------------

class LabelledOut(BaseModel):
    code: str
    label: str = Field(description="the code in words")


class CountryOut(BaseModel):
    code: str = Field(description="ISO 3166-1 alpha-2 (XK: Kosovo)")
    name: str


class PublicEventOut(BaseModel):
    kind: LabelledOut
    title: str
    starts_on: date
    ends_on: date
    place: str


class PublicPartnershipOut(BaseModel):
    code: str
    name: str
    country: CountryOut
    lead: bool = Field(description="the call's lead partnership")


class CapOut(BaseModel):
    amount: Decimal = Field(description="EUR per visiting organisation, for a host in one of these countries")
    countries: list[CountryOut]


class PublicRulesOut(BaseModel):
    """The call's rule set: its values, and the same in words."""

    version: str
    grant_model: str = Field(description="lump_sum (by the host's country) or actual_costs")
    caps_by_host_country: list[CapOut] = Field(description="the lump sums, highest first")
    other_eligible_countries_cap: Decimal | None = Field(
        description="the lump sum for a host in any other eligible country (none when every one is listed)")
    cap: Decimal = Field(description="no grant is above this amount (EUR)")
    min_working_days: int = Field(description="below this many working days of visit, no grant")
    full_rate_min_working_days: int = Field(description="fewer working days than this: the amount is halved")
    full_rate_min_distance_km: Decimal = Field(description="a host nearer than this: the amount is halved")
    max_stay_months: int
    eligible_countries: list[CountryOut]
    in_words: list[str] = Field(description="the rules as sentences, in the order a reader needs them")


class PublicCallOut(BaseModel):
    code: str
    title: str
    phase: Phase = Field(description="coming (published, not open yet), open (takes applications today), "
                                     "applications_closed (matching goes on), closed")
    opens_on: date = Field(description="first day applications are taken")
    closes_on: date = Field(description="last day applications are taken")
    matching_deadline: datetime = Field(description="the last matching round ends by then")
    formats: list[LabelledOut]
    events: list[PublicEventOut]
    partnerships: list[PublicPartnershipOut]
    rules: PublicRulesOut
    offers: int = Field(description="published host offers with a place left")


class PublicOfferOut(BaseModel):
    id: int = Field(description="the offer (its host application's id)")
    call: str = Field(description="the call's code")
    call_title: str
    organisation: str = Field(description="the host organisation's legal name")
    country: CountryOut
    city: str
    format: LabelledOut
    sectors: list[LabelledOut]
    topics: list[str]
    activities: list[LabelledOut]
    date_from: date = Field(description="first day the host receives visitors")
    date_to: date = Field(description="last day the host receives visitors")
    capacity: int
    places_left: int


class OfferPageOut(BaseModel):
    offers: list[PublicOfferOut]
    total: int = Field(description="offers matching the filters, on every page")
    page: int
    page_size: int


# ---- the filters of the offers -------------------------------------------------------------------

class OfferFilter(BaseModel):
    """The filters of `GET /api/offers` and of the `/offers` page; an empty value is no filter."""

    model_config = ConfigDict(str_strip_whitespace=True)

    country: str | None = Field(None, description="the host's country, ISO 3166-1 alpha-2 (e.g. AT)")
    sector: str | None = Field(None, description="a sector code the host offers, e.g. digital")
    format: FormatCode | None = Field(None, description="a format of the offer")
    call: str | None = Field(None, max_length=40, pattern=r"^[^\x00-\x1f\x7f]*$", description="a call's code")
    date_from: date | None = Field(None, description="offers available on some day from this one …")
    date_to: date | None = Field(None, description="… up to this one (both inclusive)")
    page: int = Field(1, ge=1, le=100_000)
    page_size: int = Field(20, ge=1, le=MAX_PAGE_SIZE, description=f"at most {MAX_PAGE_SIZE}")

    @field_validator("country", "sector", "format", "call", "date_from", "date_to", mode="before")
    @classmethod
    def _blank_is_none(cls, value: Any) -> Any:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("country")
    @classmethod
    def _country(cls, value: str | None) -> str | None:
        from rules.values import normalise_country

        if value is None:
            return None
        try:
            return normalise_country("country", value)
        except ValueError as err:
            raise ValueError(str(err).removeprefix("country: ")) from None

    @field_validator("sector")
    @classmethod
    def _sector(cls, value: str | None) -> str | None:
        if value is not None and value.lower() not in SECTORS:
            raise ValueError(f"{value!r} is not a sector (sectors: {', '.join(sorted(SECTORS))})")
        return value.lower() if value else None

    @field_validator("call")
    @classmethod
    def _call(cls, value: str | None) -> str | None:
        return value.upper() if value else None

    @field_validator("date_to")
    @classmethod
    def _in_order(cls, value: date | None, info: Any) -> date | None:
        start = info.data.get("date_from")
        if value is not None and start is not None and value < start:
            raise ValueError(f"{value} is before the first day of the range, {start}")
        return value


# ---- words --------------------------------------------------------------------------------------

@lru_cache(maxsize=512)
def country_name(code: str) -> str:
    """A country's common name in English ("AT" → "Austria", "XK" → "Kosovo"); the code if unknown."""
    if code == "XK":
        return "Kosovo"
    import pycountry

    found = pycountry.countries.get(alpha_2=code)
    if found is None:
        return code
    return str(getattr(found, "common_name", None) or found.name)


def country_out(code: str) -> CountryOut:
    return CountryOut(code=code, name=country_name(code))


def _eur(amount: Decimal) -> str:
    return f"EUR {amount:,.2f}"


def _names(codes: list[str]) -> str:
    names = sorted(country_name(c) for c in codes)
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def rules_out(rs: RuleSet) -> PublicRulesOut:
    """The rule set's values and the same in words — from its own values, whatever the version."""
    by_amount: dict[Decimal, list[str]] = {}
    for country, amount in rs.thresholds.items():
        if country in rs.eligible_countries:
            by_amount.setdefault(amount, []).append(country)
    others = sorted(c for c in rs.eligible_countries if c not in rs.thresholds)
    caps = [CapOut(amount=amount, countries=[country_out(c) for c in sorted(codes, key=country_name)])
            for amount, codes in sorted(by_amount.items(), reverse=True)]
    words: list[str] = []
    if rs.grant_model == "lump_sum":
        parts = [f"{_eur(cap.amount)} for a host in {_names([c.code for c in cap.countries])}" for cap in caps]
        if others:
            parts.append(f"{_eur(rs.default_threshold)} for a host in any other eligible country")
        words.append("The grant is a lump sum per visiting organisation, set by the host's country: "
                     + "; ".join(parts) + ".")
        words.append(f"The amount is halved (once) when the visit counts fewer than "
                     f"{rs.full_rate_min_working_days} working days, or when the host is less than "
                     f"{rs.full_rate_min_distance_km:,} km away.")
    else:
        words.append("The grant pays the eligible travel, accommodation and subsistence costs.")
    words.append(f"A visit needs at least {rs.min_working_days} working days (weekends and the host country's "
                 "public holidays do not count); below that, no grant is paid.")
    words.append(f"No grant is above {_eur(rs.cap)} per visiting organisation.")
    months = f"{rs.max_stay_months} month" + ("" if rs.max_stay_months == 1 else "s")
    words.append(f"A visit lasts at most {months}.")
    words.append(f"Organisations from {len(rs.eligible_countries)} countries take part: "
                 f"{_names(sorted(rs.eligible_countries))}.")
    return PublicRulesOut(
        version=rs.version, grant_model=rs.grant_model, caps_by_host_country=caps,
        other_eligible_countries_cap=rs.default_threshold if others and rs.grant_model == "lump_sum" else None,
        cap=rs.cap, min_working_days=rs.min_working_days, full_rate_min_working_days=rs.full_rate_min_working_days,
        full_rate_min_distance_km=rs.full_rate_min_distance_km, max_stay_months=rs.max_stay_months,
        eligible_countries=[country_out(c) for c in sorted(rs.eligible_countries, key=country_name)],
        in_words=words)


# ---- calls ----------------------------------------------------------------------------------------

def _today(uow: UnitOfWork) -> date:
    from workflows.programme import BRUSSELS

    return uow.now().astimezone(BRUSSELS).date()


def phase_of(call: Call, today: date) -> Phase:
    if call.status == "closed":
        return "closed"
    if today < call.opens_on:
        return "coming"
    return "open" if today <= call.closes_on else "applications_closed"


def _call_out(call: Call, today: date, rules: PublicRulesOut, offers: int) -> PublicCallOut:
    lead = call.lead_partnership
    others = sorted((p for p in call.partnerships if p.id != lead.id), key=lambda p: p.code)
    return PublicCallOut(
        code=call.code, title=call.title, phase=phase_of(call, today), opens_on=call.opens_on,
        closes_on=call.closes_on, matching_deadline=call.matching_deadline,
        formats=[LabelledOut(code=f, label=label(f, "format")) for f in (call.formats or ["exchange_visit"])],
        events=[PublicEventOut(kind=LabelledOut(code=e.kind, label=label(e.kind)), title=e.title,
                               starts_on=e.starts_on, ends_on=e.ends_on, place=e.place) for e in call.events],
        partnerships=[PublicPartnershipOut(code=p.code, name=p.name, country=country_out(p.country), lead=p is lead)
                      for p in [lead, *others]],
        rules=rules, offers=offers)


def _rules(uow: UnitOfWork, versions: set[str]) -> dict[str, PublicRulesOut]:
    import json

    rows = uow.session.execute(select(RuleSetRecord.version, RuleSetRecord.data).where(
        RuleSetRecord.version.in_(versions)))
    return {version: _rules_in_words(json.dumps(data, sort_keys=True)) for version, data in rows}


@lru_cache(maxsize=64)
def _rules_in_words(document: str) -> PublicRulesOut:
    """`rules_out` of a stored rule set, by its whole document (a version's values never change, and a
    changed document is another key): the same words are not composed again on every request."""
    import json

    return rules_out(rule_set_from_dict(json.loads(document)))


def _calls(uow: UnitOfWork, statuses: tuple[str, ...], code: str | None = None) -> list[PublicCallOut]:
    query = (select(Call).where(Call.status.in_(statuses))
             .options(selectinload(Call.events), selectinload(Call.partnerships), selectinload(Call.lead_partnership))
             .order_by(Call.opens_on, Call.code))
    if code is not None:
        query = query.where(Call.code == code)
    calls = list(uow.session.scalars(query))
    if not calls:
        return []
    today = _today(uow)
    rules = _rules(uow, {c.rule_set_version for c in calls})
    counted = _offers(OfferFilter()).with_only_columns(Call.code, func.count()).group_by(Call.code)
    offers = {str(k): int(v) for k, v in uow.session.execute(counted.where(Call.id.in_([c.id for c in calls])))}
    return [_call_out(c, today, rules[c.rule_set_version], offers.get(c.code, 0)) for c in calls]


def public_calls(app: App) -> list[PublicCallOut]:
    """The calls open now or coming (published, not closed), first opening first."""
    with app.uow() as uow:
        return _calls(uow, PUBLISHED)


def public_call(app: App, code: str) -> PublicCallOut:
    """One call that is or was published (a closed one too); `NotFound` for a draft as for an unknown code."""
    wanted = str(code).strip().upper()
    if not wanted or len(wanted) > 40 or "\x00" in wanted:
        raise NotFound(f"call: no published call '{code}'")
    with app.uow() as uow:
        found = _calls(uow, (*PUBLISHED, "closed"), wanted)
    if not found:
        raise NotFound(f"call: no published call '{code}'")
    return found[0]


def apply_link(principal: Principal | None, call: PublicCallOut) -> str | None:
    """Where a signed-in applicant of an organisation starts an application to this call (the form
    itself decides, through `access.may_apply`, whether they may); None for anyone else or a call that
    takes no application now or soon."""
    if principal is None or principal.role != "applicant" or principal.organisation_id is None:
        return None
    if call.phase not in ("open", "coming"):
        return None
    return f"/my/applications/new?call={call.code}"


# ---- offers ---------------------------------------------------------------------------------------

def _load() -> Any:
    """Per host offer, the places taken: visits matched or beyond, and proposals waiting for answers."""
    from workflows.programme import VISITED

    taken = union_all(
        select(Exchange.host_application_id.label("offer_id"), literal(1).label("n"))
        .where(Exchange.host_application_id.is_not(None), Exchange.status.in_(VISITED)),
        select(MatchProposal.host_application_id.label("offer_id"), literal(1).label("n"))
        .where(MatchProposal.status == "sent")).subquery("taken")
    return select(taken.c.offer_id, func.sum(taken.c.n).label("taken")).group_by(taken.c.offer_id).subquery("load")


@lru_cache(maxsize=1)
def _published_offers() -> Select[Any]:
    """Every published offer with a place left, built once (a statement is immutable: each filter makes
    a new one from it, safe from any thread)."""
    load = _load()
    places_left = (Application.capacity - func.coalesce(load.c.taken, 0)).label("places_left")
    return (select(Application.id, Call.code, Call.title, Organisation.legal_name, Organisation.country,
                   Organisation.city, Application.format, Application.sectors, Application.topics,
                   Application.activities_offered, Application.date_from, Application.date_to,
                   Application.capacity, places_left)
            .join(Organisation, Organisation.id == Application.organisation_id)
            .join(Call, Call.id == Application.call_id)
            .outerjoin(load, load.c.offer_id == Application.id)
            .where(Application.role == "host", Application.status == "published", Organisation.active,
                   Call.status.in_(PUBLISHED), places_left > 0))


def _offers(filters: OfferFilter) -> Select[Any]:
    """The published offers matching `filters`, with their places left (a SELECT of every column shown)."""
    query = _published_offers()
    if filters.country:
        query = query.where(Organisation.country == filters.country)
    if filters.sector:  # a JSON list of codes: its text holds the code in quotes (codes have no quote)
        from sqlalchemy import Text, cast

        query = query.where(cast(Application.sectors, Text).contains(f'"{filters.sector}"', autoescape=True))
    if filters.format:
        query = query.where(Application.format == filters.format)
    if filters.call:
        query = query.where(Call.code == filters.call)
    if filters.date_from:
        query = query.where(Application.date_to >= filters.date_from)
    if filters.date_to:
        query = query.where(Application.date_from <= filters.date_to)
    return query


def _offer_out(row: Any) -> PublicOfferOut:
    return PublicOfferOut(
        id=row.id, call=row.code, call_title=row.title, organisation=row.legal_name,
        country=country_out(row.country), city=row.city, format=LabelledOut(code=row.format, label=label(row.format, "format")),
        sectors=[LabelledOut(code=s, label=label(s, "sector")) for s in (row.sectors or [])],
        topics=list(row.topics or []),
        activities=[LabelledOut(code=a, label=label(a, "activity")) for a in (row.activities_offered or [])],
        date_from=row.date_from, date_to=row.date_to, capacity=row.capacity, places_left=int(row.places_left))


def public_offers(app: App, filters: OfferFilter) -> OfferPageOut:
    """A page of the published host offers matching `filters`, earliest available first, with the
    total: one query (the total as a window count over the same rows)."""
    query = _offers(filters)
    paged = (query.add_columns(func.count().over().label("total"))
             .order_by(Application.date_from, Application.id)
             .limit(filters.page_size).offset((filters.page - 1) * filters.page_size))
    with app.uow() as uow:
        rows = uow.session.execute(paged).all()
        if rows:
            total = int(rows[0].total)
        else:  # a page past the last: the total alone
            total = int(uow.session.scalar(select(func.count()).select_from(query.subquery())) or 0)
    return OfferPageOut(offers=[_offer_out(r) for r in rows], total=total, page=filters.page,
                        page_size=filters.page_size)


def offer_choices() -> dict[str, list[tuple[str, str]]]:
    """The choices of the offers' filter form, as (code, words): the programme's countries, the
    sectors and the formats."""
    from reports.labels import FORMATS
    from rules.ruleset import DEFAULT_ELIGIBLE_COUNTRIES

    countries = sorted(((c, country_name(c)) for c in DEFAULT_ELIGIBLE_COUNTRIES), key=lambda kv: kv[1])
    return {"countries": countries, "sectors": sorted(SECTORS.items(), key=lambda kv: kv[1]),
            "formats": list(FORMATS.items())}
