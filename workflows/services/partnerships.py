"""Partnerships and organisations as the administration manages them (SPEC §14).

- A partnership is created and edited with its debtor account checked as the payment batch checks
  it (`reports.sepa.validate_creditor`: the IBAN's check digits and SEPA reach with schwifty, the
  BIC's format and country, the holder's name in SEPA characters), so a partnership can always pay.
- Organisations are looked up (legal name, legal id, city; by country and state; paged) and
  deactivated with a reason (or activated again). A deactivated organisation keeps every record and
  its history; it can neither apply (`workflows.services.lifecycle.submit_application`) nor be
  matched (`Programme.matching_pool`, and an officer's reassignment in `workflows.match_overrides`).
Only administrators change; administrators and auditors read; every change is audited."""
from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import ColumnElement, func, or_, select

from workflows.app import App
from workflows.audit import jsonable
from workflows.db.folding import contains_pattern
from workflows.db.models import Application, Call, Exchange, Organisation, Partnership, User, call_partnerships
from workflows.services import Conflict, FieldError, Invalid, NotFound, access
from workflows.services.access import Principal
from workflows.services.admin_outputs import OrganisationOut, OrganisationPageOut, PartnershipOut
from workflows.services.call_inputs import check_reason, parse
from workflows.uow import UnitOfWork

MAX_PAGE_SIZE = 200


class PartnershipIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    code: str = Field(min_length=2, max_length=40, pattern=r"^[A-Za-z0-9][A-Za-z0-9-]*$",
                      description="letters, digits and hyphens, e.g. CXP-EAST")
    name: str = Field(min_length=2, max_length=200)
    country: str = Field(min_length=2, max_length=2, description="ISO 3166-1 alpha-2")
    debtor_name: str = Field(min_length=1, max_length=140, description="the account holder, as the bank knows it")
    debtor_iban: str = Field(min_length=5, max_length=42)
    debtor_bic: str | None = Field(None, max_length=11)


class PartnershipPatch(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: str | None = Field(None, min_length=2, max_length=200)
    country: str | None = Field(None, min_length=2, max_length=2)
    debtor_name: str | None = Field(None, min_length=1, max_length=140)
    debtor_iban: str | None = Field(None, min_length=5, max_length=42)
    debtor_bic: str | None = Field(None, max_length=11, description="empty to remove it")


def _account(values: Mapping[str, Any]) -> dict[str, Any]:
    """The country and the debtor account checked; their normalised values, or `Invalid` per field."""
    from reports.sepa import CreditTransfer, validate_creditor
    from rules.errors import RuleInputError
    from rules.values import normalise_country

    errors: list[FieldError] = []
    out = dict(values)
    try:
        out["country"] = normalise_country("country", values["country"])
    except RuleInputError as err:
        errors.append(FieldError(("country",), err.message))
    bic = (values.get("debtor_bic") or "").replace(" ", "").upper() or None
    iban = str(values["debtor_iban"]).replace(" ", "").upper()
    names = {"iban": "debtor_iban", "bic": "debtor_bic", "creditor_name": "debtor_name"}
    for problem in validate_creditor(CreditTransfer("DEBTOR", values["debtor_name"], iban, bic, Decimal("0.01"), "")):
        if problem.field in names:
            errors.append(FieldError((names[problem.field],), problem.message))
    if errors:
        raise Invalid("; ".join(f"{e.field}: {e.msg}" for e in errors), errors)
    out.update(debtor_iban=iban, debtor_bic=bic)
    return out


def _partnership_out(uow: UnitOfWork, p: Partnership) -> PartnershipOut:
    calls = sorted(uow.session.scalars(select(Call.code).join(
        call_partnerships, call_partnerships.c.call_id == Call.id).where(call_partnerships.c.partnership_id == p.id)))
    counts = dict(uow.session.execute(select(User.role, func.count()).where(
        User.partnership_id == p.id, User.active).group_by(User.role)).all())
    return PartnershipOut(code=p.code, name=p.name, country=p.country, debtor_name=p.debtor_name,
                          debtor_iban=p.debtor_iban, debtor_bic=p.debtor_bic, calls=calls,
                          officers=int(counts.get("officer", 0)), finance_users=int(counts.get("finance", 0)))


def list_partnerships(app: App, principal: Principal) -> list[PartnershipOut]:
    access.require_programme_reader(app, None, principal, "read the partnerships and their accounts")
    with app.uow() as uow:
        return [_partnership_out(uow, p) for p in uow.session.scalars(select(Partnership).order_by(Partnership.code))]


def create_partnership(app: App, principal: Principal, data: Any) -> PartnershipOut:
    with app.uow() as uow:
        uow.write_lock()
        access.require_programme_admin(app, uow, principal, "create a partnership", subject="partnership:new")
        given = _account(parse(PartnershipIn, data).model_dump())
        given["code"] = given["code"].upper()
        if uow.session.scalar(select(Partnership.id).where(Partnership.code == given["code"])) is not None:
            raise Invalid.field("code", f"{given['code']} is already the code of a partnership")
        row = Partnership(**given)
        uow.session.add(row)
        uow.session.flush()
        uow.audit(principal.actor, "partnership_created", subject=f"partnership:{row.code}", after=jsonable(given))
        out = _partnership_out(uow, row)
        uow.commit()
        return out


def update_partnership(app: App, principal: Principal, code: str, data: Any) -> PartnershipOut:
    names = ("name", "country", "debtor_name", "debtor_iban", "debtor_bic")
    with app.uow() as uow:
        uow.write_lock()
        access.require_programme_admin(app, uow, principal, f"change partnership {code}",
                                       subject=f"partnership:{code}"[:60])
        patch = parse(PartnershipPatch, data).model_dump(exclude_unset=True)
        row = uow.session.scalars(select(Partnership).where(Partnership.code == code.upper()).with_for_update()).first()
        if row is None or "\x00" in code:
            raise NotFound(f"partnership: no partnership '{code}'")
        before = {n: getattr(row, n) for n in names}
        merged = _account({**before, **{k: v for k, v in patch.items() if v is not None or k == "debtor_bic"}})
        changes = sorted(n for n in names if merged[n] != before[n])
        if not changes:
            raise Invalid.field("body", "nothing changes: every field given already has that value")
        for n in changes:
            setattr(row, n, merged[n])
        uow.audit(principal.actor, "partnership_updated", subject=f"partnership:{row.code}",
                  before={n: before[n] for n in changes}, after={n: merged[n] for n in changes})
        out = _partnership_out(uow, row)
        uow.commit()
        return out


# --- organisations -------------------------------------------------------------------------------

def _organisation_out(uow: UnitOfWork, org: Organisation, partnerships: Mapping[int, str]) -> OrganisationOut:
    applications = uow.session.scalar(select(func.count(Application.id)).where(
        Application.organisation_id == org.id)) or 0
    exchanges = uow.session.scalar(select(func.count(Exchange.id)).where(
        or_(Exchange.visitor_org_id == org.id, Exchange.host_org_id == org.id))) or 0
    return OrganisationOut(legal_id=org.legal_id, legal_name=org.legal_name, org_type=org.org_type,
                           country=org.country, city=org.city, contact_email=org.contact_email,
                           partnership=partnerships.get(org.partnership_id or 0), active=org.active,
                           deactivated_at=org.deactivated_at, deactivated_reason=org.deactivated_reason,
                           applications=int(applications), exchanges=int(exchanges))


def search_organisations(app: App, principal: Principal, q: str = "", country: str | None = None,
                         state: str = "all", page: int = 1, page_size: int = 25) -> OrganisationPageOut:
    """Organisations whose legal name, legal id or city holds `q` (in any script, case or accent), by
    name; `state` is all, active or inactive; paged."""
    access.require_programme_reader(app, None, principal, "look up the organisations")
    if state not in ("all", "active", "inactive"):
        raise Invalid.field("state", "must be all, active or inactive")
    if not 1 <= page_size <= MAX_PAGE_SIZE:
        raise Invalid.field("page_size", f"must be 1 to {MAX_PAGE_SIZE}")
    if not 1 <= page <= 100_000:
        raise Invalid.field("page", "must be 1 or more")
    where: list[ColumnElement[bool]] = []
    text = (q or "").strip()
    if "\x00" in text or len(text) > 200:
        raise Invalid.field("q", "must be at most 200 characters of text")
    pattern = contains_pattern(text)
    if pattern:  # in any script, case or accent: the folded column kept on every write
        where.append(Organisation.search_fold.like(pattern, escape="\\"))
    if country:
        where.append(Organisation.country == country.strip().upper()[:2])
    if state != "all":
        where.append(Organisation.active.is_(state == "active"))
    with app.uow() as uow:
        total = uow.session.scalar(select(func.count(Organisation.id)).where(*where)) or 0
        rows = uow.session.scalars(select(Organisation).where(*where).order_by(Organisation.legal_name, Organisation.id)
                                   .offset((page - 1) * page_size).limit(page_size)).all()
        partnerships = dict(uow.session.execute(select(Partnership.id, Partnership.code)).all())
        return OrganisationPageOut(items=[_organisation_out(uow, o, partnerships) for o in rows], total=int(total),
                                   page=page, page_size=page_size)


def set_organisation_active(app: App, principal: Principal, legal_id: str, active: bool,
                            reason: str | None) -> OrganisationOut:
    """Deactivate an organisation (or activate it again) with a reason; its records stay."""
    verb = "activate" if active else "deactivate"
    with app.uow() as uow:
        uow.write_lock()
        access.require_programme_admin(app, uow, principal, f"{verb} organisation {legal_id}",
                                       subject=f"organisation:{legal_id}"[:60])
        text = check_reason(reason, f"to {verb} an organisation")
        org = None if "\x00" in legal_id else uow.session.scalars(
            select(Organisation).where(Organisation.legal_id == legal_id).with_for_update()).first()
        if org is None:
            raise NotFound(f"organisation: no organisation '{legal_id}'")
        if org.active == active:
            raise Conflict(f"organisation {legal_id} is {'active' if active else 'deactivated'} already")
        before = {"active": org.active, "deactivated_reason": org.deactivated_reason}
        org.active = active
        org.deactivated_at, org.deactivated_reason = (None, None) if active else (uow.now(), text)
        uow.audit(principal.actor, f"organisation_{verb}d", subject=f"organisation:{legal_id}"[:60],
                  before=before, after={"active": active, "reason": text})
        partnerships = dict(uow.session.execute(select(Partnership.id, Partnership.code)).all())
        out = _organisation_out(uow, org, partnerships)
        uow.commit()
        return out
