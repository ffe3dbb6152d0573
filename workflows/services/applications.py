"""Applications in the product (SPEC §13): an approved organisation's user applies to an open call as a
visitor or a host, keeps a draft, submits it, withdraws it before its exchange is confirmed.

Submitting starts the same process as `cxp import` (`lifecycle.submit_application`): `exchange` for a
visitor, `hosting` for a host; its eligibility check runs in the same transaction, so the answer
carries the outcome and every reason in words. Bad input writes nothing and names each field."""
from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from sqlalchemy import select

from workflows.app import App
from workflows.db.models import Application, Call, Exchange, Organisation
from workflows.services import FieldError, Invalid, ServiceError, access
from workflows.services.access import Principal
from workflows.services.application_inputs import (
    ApplicationIn,
    ApplicationOut,
    ApplicationPatch,
    eligibility_out,
)
from workflows.uow import UnitOfWork

# The visits of a call take place from its opening until a year after it closes.
VISIT_HORIZON = timedelta(days=365)
# An application in one of these states may still be withdrawn: its exchange is not confirmed.
WITHDRAWABLE = ("draft", "submitted", "eligible", "awaiting_match", "proposed", "published")


def _open_call(uow: UnitOfWork, code: str) -> Call | None:
    return uow.session.scalars(select(Call).where(Call.code == code.strip().upper())).first()


def _today(uow: UnitOfWork) -> date:
    from workflows.programme import BRUSSELS

    return uow.now().astimezone(BRUSSELS).date()


def _live_visitor_application(uow: UnitOfWork, organisation_id: int, other_than: int | None) -> str | None:
    """The reference of another visitor application of the organisation that has not ended."""
    from workflows.programme import ENDED

    query = select(Exchange.ref).where(Exchange.visitor_org_id == organisation_id, Exchange.status.not_in(ENDED))
    if other_than is not None:
        query = query.where(Exchange.visitor_application_id != other_than)
    return uow.session.scalars(query.order_by(Exchange.id)).first()


def problems(uow: UnitOfWork, form: ApplicationIn, organisation: Organisation,
             application_id: int | None = None) -> list[FieldError]:
    """What is wrong with the form for this call, today, for this organisation (empty: nothing)."""
    out: list[FieldError] = []
    call = _open_call(uow, form.call)
    today = _today(uow)
    if call is None or call.status in ("draft",):
        out.append(FieldError(("call",), f"{form.call!r} is not a published call (see /calls)"))
    else:
        # a draft may be prepared for a published call that has not opened yet; it is sent once open
        takes = call.status == "open" and call.opens_on <= today <= call.closes_on
        upcoming = call.status in ("published", "open") and today <= call.closes_on
        if not (takes or (upcoming and not form.submit)):
            out.append(FieldError(("call",), f"{call.code} takes applications from {call.opens_on} to "
                                             f"{call.closes_on}; it is {call.status} now"))
        allowed = call.formats or ["exchange_visit"]
        if form.format not in allowed:
            out.append(FieldError(("format",), f"{call.code} does not allow {form.format}; it allows "
                                               f"{', '.join(sorted(allowed))}"))
        latest = call.closes_on + VISIT_HORIZON
        if form.date_from < call.opens_on:
            out.append(FieldError(("date_from",), f"{form.date_from} is before the call opens ({call.opens_on})"))
        if form.date_to > latest:
            out.append(FieldError(("date_to",), f"{form.date_to} is after the call's last day for visits ({latest})"))
    if form.date_from < today:
        out.append(FieldError(("date_from",), f"{form.date_from} is in the past (today is {today})"))
    if not form.submit:
        return out
    if form.role == "visitor":
        if not form.motivation.strip():
            out.append(FieldError(("motivation",), "say why your organisation wants this exchange"))
        if not form.sectors:
            out.append(FieldError(("sectors",), "name at least one sector"))
        live = _live_visitor_application(uow, organisation.id, application_id)
        if live is not None:
            out.append(FieldError(("role",), f"{organisation.legal_name} already has a visitor application under "
                                             f"way ({live}): an organisation holds one at a time; withdraw it first"))
    else:
        if form.capacity < 1:
            out.append(FieldError(("capacity",), "a host offer needs at least one place"))
        if not form.activities_offered:
            out.append(FieldError(("activities_offered",), "name at least one activity of the visit"))
    if not form.declaration_given:
        out.append(FieldError(("declaration_given",), "tick the declaration on honour (no other EU funding for "
                                                      "the same trip) to submit"))
    if not form.audit_rights_accepted:
        out.append(FieldError(("audit_rights_accepted",), "accept the audit rights to submit"))
    return out


def _check(uow: UnitOfWork, form: ApplicationIn, organisation: Organisation, application_id: int | None = None) -> Call:
    found = problems(uow, form, organisation, application_id)
    if found:
        raise Invalid("; ".join(f"{f.field}: {f.msg}" for f in found), found)
    call = _open_call(uow, form.call)
    assert call is not None  # problems() named it otherwise
    return call


_FIELDS = ("role", "format", "date_from", "date_to", "sectors", "wished_countries", "motivation", "capacity",
           "topics", "activities_offered", "declaration_given", "audit_rights_accepted")


def _write(row: Application, form: ApplicationIn, call: Call) -> None:
    for name in _FIELDS:
        setattr(row, name, getattr(form, name))
    row.call_id = call.id


def application_out(uow: UnitOfWork, row: Application) -> ApplicationOut:
    call = uow.session.get(Call, row.call_id)
    ref = uow.session.scalars(select(Exchange.ref).where(Exchange.visitor_application_id == row.id)).first()
    return ApplicationOut(
        id=row.id, status=row.status, call=call.code if call else "", call_title=call.title if call else "",
        organisation=row.organisation.legal_name, role=row.role, format=row.format, date_from=row.date_from,
        date_to=row.date_to, sectors=list(row.sectors or []), wished_countries=list(row.wished_countries or []),
        motivation=row.motivation, capacity=row.capacity, topics=list(row.topics or []),
        activities_offered=list(row.activities_offered or []), declaration_given=row.declaration_given,
        audit_rights_accepted=row.audit_rights_accepted,
        submitted_at=None if row.status == "draft" else row.submitted_at, exchange=ref,
        preferred_offers=list(row.preferred_offers or []), eligibility=eligibility_out(row.status, row.eligibility, row.role),
        may_edit=row.status == "draft", may_withdraw=row.status in WITHDRAWABLE)


def _submit(app: App, uow: UnitOfWork, principal: Principal, row: Application) -> None:
    from workflows.services.lifecycle import submit_application

    row.status, row.submitted_at = "submitted", uow.now()
    uow.session.flush()
    uow.audit(principal.actor, "application_sent", subject=f"application:{row.id}",
              after={"role": row.role, "call": row.call_id})
    submit_application(app, uow, row, principal.actor)
    if row.eligibility and row.eligibility.get("ok"):  # the ineligible are told by their process's own email
        _received_mail(app, uow, row)


def _received_mail(app: App, uow: UnitOfWork, row: Application) -> None:
    """Application received and eligible: what comes next, and the link to the page where they act."""
    from workflows.outbox import enqueue
    from workflows.services.application_inputs import eligibility_out

    call = uow.session.get(Call, row.call_id)
    summary = eligibility_out(row.status, row.eligibility, row.role).summary.removeprefix("Eligible: ").rstrip(".")
    enqueue(uow.session, template="application_received", to=[row.organisation.contact_email],
            key=f"application_received:{row.id}", now=uow.now(), context={
                "recipient_name": row.organisation.legal_name, "organisation": row.organisation.legal_name,
                "application_id": row.id, "call_title": call.title if call else "", "role": row.role,
                "next_step": summary, "link": app.settings.link(f"/my/applications/{row.id}")})


def create_application(app: App, principal: Principal, form: ApplicationIn) -> ApplicationOut:
    """A new application: a draft (`submit: false`) or submitted at once."""
    with app.uow() as uow:
        organisation = access.may_apply(app, uow, principal)
        call = _check(uow, form, organisation)
        row = Application(organisation_id=organisation.id, partnership_id=organisation.partnership_id,
                          submitted_at=uow.now(), status="draft", organisation=organisation)
        _write(row, form, call)
        if organisation.partnership_id is None:
            raise Invalid.field("organisation", f"{organisation.legal_name} belongs to no partnership yet")
        uow.session.add(row)
        uow.session.flush()
        uow.audit(principal.actor, "application_created", subject=f"application:{row.id}",
                  after={"call": call.code, "role": form.role, "draft": not form.submit})
        if form.submit:
            _submit(app, uow, principal, row)
        out = application_out(uow, row)
        uow.commit()
        return out


def _own_draft(app: App, uow: UnitOfWork, principal: Principal, application_id: int,
               what: str) -> tuple[Organisation, Application]:
    row = access.visible_application(uow, principal, application_id)
    organisation = access.may_apply(app, uow, principal, what)
    if row.status != "draft":
        raise ServiceError(f"application {row.id} was submitted ({row.status}); only a draft changes")
    return organisation, row


def _form_of(uow: UnitOfWork, row: Application, changes: dict[str, Any], submit: bool) -> ApplicationIn:
    call = uow.session.get(Call, row.call_id)
    current: dict[str, Any] = {name: getattr(row, name) for name in _FIELDS}
    current["call"] = call.code if call else ""
    return ApplicationIn.model_validate({**current, **changes, "submit": submit})


def update_draft(app: App, principal: Principal, application_id: int, patch: ApplicationPatch) -> ApplicationOut:
    """Change the fields given of a draft; the whole is checked again as a draft."""
    from pydantic import ValidationError

    with app.uow() as uow:
        organisation, row = _own_draft(app, uow, principal, application_id, "change an application")
        try:
            form = _form_of(uow, row, patch.model_dump(exclude_unset=True), submit=False)
        except ValidationError as err:
            fields = [FieldError(tuple(str(p) for p in e["loc"]), str(e["msg"]).removeprefix("Value error, "))
                      for e in err.errors()]
            raise Invalid("; ".join(f"{f.field}: {f.msg}" for f in fields), fields) from None
        _write(row, form, _check(uow, form, organisation, row.id))
        uow.audit(principal.actor, "application_changed", subject=f"application:{row.id}",
                  after=patch.model_dump(mode="json", exclude_unset=True))
        out = application_out(uow, row)
        uow.commit()
        return out


def submit_draft(app: App, principal: Principal, application_id: int) -> ApplicationOut:
    """Send a draft: checked as a whole, then the same process as an import starts."""
    with app.uow() as uow:
        organisation, row = _own_draft(app, uow, principal, application_id, "submit an application")
        _check(uow, _form_of(uow, row, {}, submit=True), organisation, row.id)
        _submit(app, uow, principal, row)
        out = application_out(uow, row)
        uow.commit()
        return out


def list_applications(app: App, principal: Principal) -> list[ApplicationOut]:
    """The applications the caller sees: an applicant their organisation's, newest first."""
    with app.uow() as uow:
        rows = uow.session.scalars(select(Application).where(access.application_scope(principal))
                                   .order_by(Application.id.desc()).limit(500))
        return [application_out(uow, row) for row in rows]


def get_application(app: App, principal: Principal, application_id: int) -> ApplicationOut:
    with app.uow() as uow:
        return application_out(uow, access.visible_application(uow, principal, application_id))


def withdraw_application(app: App, principal: Principal, application_id: int, reason: str) -> ApplicationOut:
    """Withdraw an application before its exchange is confirmed: its process ends as withdrawn, a match
    proposal waiting for answers is withdrawn with it."""
    from sqlalchemy import update

    from workflows.db.models import MatchProposal
    from workflows.services.lifecycle import instance_for, settle

    with app.uow() as uow:
        row = access.visible_application(uow, principal, application_id)
        access.may_apply(app, uow, principal, "withdraw an application")
        if row.status not in WITHDRAWABLE:
            raise ServiceError(f"application {row.id} is {row.status}: only an application whose exchange is not "
                               "confirmed yet is withdrawn (ask to cancel the exchange instead)")
        text = reason.strip() or "withdrawn by the applicant"
        waiting = uow.session.scalars(select(MatchProposal.id).where(
            MatchProposal.host_application_id == row.id, MatchProposal.status == "sent")).first()
        if row.role == "host" and waiting is not None:
            raise ServiceError(f"application {row.id}: a visitor's match proposal waits for your answer; "
                               "decline it in your tasks first, then withdraw the offer")
        before = row.status
        if row.status != "draft":
            exchange = uow.session.scalars(select(Exchange).where(Exchange.visitor_application_id == row.id)).first()
            instance = (instance_for(uow, "exchange", exchange.id) if exchange is not None
                        else instance_for(uow, "application", row.id))
            uow.session.execute(update(MatchProposal).where(
                (MatchProposal.visitor_application_id == row.id) | (MatchProposal.host_application_id == row.id),
                MatchProposal.status.in_(("proposed", "sent"))).values(status="withdrawn"))
            if instance.status != "completed":
                settle(app, uow, app.engine.terminate(uow, instance, "end_withdrawn", principal.actor, text))
        row.status = "withdrawn"
        uow.audit(principal.actor, "application_withdrawn", subject=f"application:{row.id}",
                  before={"status": before}, after={"reason": text})
        out = application_out(uow, row)
        uow.commit()
        return out



def open_calls(app: App) -> list[tuple[str, str, list[str]]]:
    """The calls taking applications now or soon (a draft may be prepared before a call opens):
    (code, title, formats), for the application form's choice."""
    with app.uow() as uow:
        today = _today(uow)
        rows = uow.session.scalars(select(Call).where(Call.status.in_(("open", "published")),
                                                      Call.closes_on >= today).order_by(Call.opens_on, Call.code))
        return [(c.code, c.title, list(c.formats or ["exchange_visit"])) for c in rows]


def parse_form(data: dict[str, Any]) -> ApplicationIn:
    """The form's values as the one model, or `Invalid` naming each field as the page shows it."""
    from pydantic import ValidationError

    try:
        return ApplicationIn.model_validate(data)
    except ValidationError as err:
        fields = [FieldError(tuple(str(p) for p in e["loc"][:1]) or ("",),
                             str(e["msg"]).removeprefix("Value error, ")) for e in err.errors()]
        raise Invalid("; ".join(f"{f.field}: {f.msg}" for f in fields), fields) from None
