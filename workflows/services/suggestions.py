"""Suggested matches (SPEC §13): a visitor sees the call's published host offers ranked by the fit score
the matching solver gives the pair (`rules.matching.explain_fit`, on the same pool the round takes:
`Programme.matching_pool`), with its parts, and marks up to three preferred offers, which the solver
then gives a bonus."""
from __future__ import annotations

from datetime import date
from decimal import Decimal

from pydantic import BaseModel, Field
from sqlalchemy import select

from rules.matching import MAX_PREFERRED, HostOffer, VisitorCandidate, explain_fit
from rules.ruleset import RuleSet
from workflows.app import App
from workflows.db.models import Application, MatchProposal
from workflows.services import FieldError, Invalid, ServiceError, access
from workflows.services.access import Principal
from workflows.services.application_inputs import ApplicationOut
from workflows.uow import UnitOfWork


class SuggestionOut(BaseModel):
    offer: int = Field(description="the host offer (its application id): what PUT …/preferences takes")
    organisation: str
    country: str
    city: str
    sectors: list[str]
    topics: list[str]
    activities: list[str]
    date_from: date
    date_to: date
    places_left: int
    score: Decimal
    parts: dict[str, Decimal] = Field(description="the score's parts: sector, country_wish, date_overlap, "
                                                   "region_bonus, preferred")
    reasons: list[str] = Field(description="the fit in words")
    preferred: bool


def _visitor(uow: UnitOfWork, principal: Principal, application_id: int) -> Application:
    row = access.visible_application(uow, principal, application_id)
    if row.role != "visitor":
        raise ServiceError(f"application {row.id} is a host offer: suggestions are for visitors")
    return row


def _pool(uow: UnitOfWork, row: Application) -> tuple[VisitorCandidate, list[HostOffer], RuleSet]:
    from workflows.programme import Programme, org_facts

    _visitors, hosts, rule_set = Programme(uow.session, uow.now(), None).matching_pool(row.call_id)
    declined = frozenset(uow.session.scalars(select(MatchProposal.host_application_id).where(
        MatchProposal.visitor_application_id == row.id, MatchProposal.status == "declined")))
    visitor = VisitorCandidate(row.id, org_facts(row.organisation), frozenset(row.sectors or ()),
                               frozenset(row.wished_countries or ()), row.date_from, row.date_to, declined,
                               frozenset(row.preferred_offers or ()))
    return visitor, hosts, rule_set


def suggested_offers(app: App, principal: Principal, application_id: int) -> list[SuggestionOut]:
    """The offers the solver could propose for this visitor, best fit first (infeasible ones left out)."""
    with app.uow() as uow:
        row = _visitor(uow, principal, application_id)
        visitor, hosts, rule_set = _pool(uow, row)
        out = []
        for host in hosts:
            fit = explain_fit(visitor, host, rule_set)
            if not fit["feasible"]:
                continue
            offer = uow.session.get(Application, host.application_id)
            assert offer is not None  # the pool was read from these rows
            out.append(SuggestionOut(
                offer=offer.id, organisation=offer.organisation.legal_name, country=offer.organisation.country,
                city=offer.organisation.city, sectors=list(offer.sectors or []), topics=list(offer.topics or []),
                activities=list(offer.activities_offered or []), date_from=offer.date_from, date_to=offer.date_to,
                places_left=host.capacity, score=fit["score"],
                parts={name: part["points"] for name, part in fit["components"].items()},
                reasons=fit["reasons"], preferred=offer.id in visitor.preferred_hosts))
        return sorted(out, key=lambda s: (-s.score, s.offer))


def set_preferences(app: App, principal: Principal, application_id: int, offers: list[int]) -> ApplicationOut:
    """Mark up to three preferred offers (in order); each must be a published offer of the same call."""
    from workflows.services.applications import WITHDRAWABLE, application_out

    with app.uow() as uow:
        row = _visitor(uow, principal, application_id)
        access.may_apply(app, uow, principal, "mark preferred offers")
        if row.status not in WITHDRAWABLE:
            raise ServiceError(f"application {row.id} is {row.status}: preferences count only before a match")
        problems = []
        if len(offers) > MAX_PREFERRED:
            problems.append(FieldError(("offers",), f"at most {MAX_PREFERRED} preferred offers ({len(offers)} given)"))
        seen: set[int] = set()
        for i, offer_id in enumerate(offers):
            offer = uow.session.get(Application, offer_id) if 0 < offer_id <= access.MAX_ID else None
            if offer_id in seen:
                problems.append(FieldError(("offers", i), f"item {i + 1}: offer {offer_id} is listed twice"))
            elif (offer is None or offer.role != "host" or offer.status != "published"
                  or offer.call_id != row.call_id):
                problems.append(FieldError(("offers", i), f"item {i + 1}: {offer_id} is not a published host offer "
                                                          "of this call"))
            seen.add(offer_id)
        if problems:
            raise Invalid("; ".join(f"{p.field}: {p.msg}" for p in problems), problems)
        before = list(row.preferred_offers or [])
        row.preferred_offers = list(offers)
        uow.audit(principal.actor, "preferences_set", subject=f"application:{row.id}",
                  before={"offers": before}, after={"offers": list(offers)})
        out = application_out(uow, row)
        uow.commit()
        return out
