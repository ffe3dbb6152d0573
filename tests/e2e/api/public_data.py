"""What the public pages' tests add to the tiny programme of tests/workflows/builders.py: an event of
the open call, a draft call
with an offer of its own (never public), an offer of a deactivated organisation (never shown), an
organisation whose name holds markup, and `n` more published offers of the open call (paging)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal

from sqlalchemy import select

from benchmarks.applications import seed_offers
from tests.workflows.builders import Programme
from workflows.db.models import Application, Call, CallEvent, Organisation, Partnership
from workflows.uow import UnitOfWork

DRAFT = "CXP-DRAFT-09"
MARKUP = "<script>alert(1)</script> Évora & Co"
HIDDEN = "Gone Cluster Porto"


@dataclass
class PublicData:
    draft_offer: int
    hidden_offer: int
    markup_offer: int
    seeded: list[int]


def _org(uow: UnitOfWork, name: str, legal_id: str, partnership_id: int, active: bool) -> Organisation:
    org = Organisation(legal_id=legal_id, legal_name=name, org_type="cluster_organisation", cluster_member=True,
                       country="PT", city="Évora", latitude=38.57, longitude=-7.91, sectors=["tourism"],
                       contact_email=f"{legal_id.lower()}@secret.example", iban="PT50000201231234567890154",
                       account_holder=name, partnership_id=partnership_id, active=active)
    uow.session.add(org)
    uow.session.flush()
    return org


def _offer(uow: UnitOfWork, call_id: int, org: Organisation, partnership_id: int) -> int:
    offer = Application(call_id=call_id, organisation_id=org.id, partnership_id=partnership_id, role="host",
                        format="conference_fair", date_from=date(2027, 6, 1), date_to=date(2027, 6, 30),
                        sectors=["tourism"], capacity=3, topics=["wine routes"], activities_offered=["study_visit"],
                        declaration_given=True, audit_rights_accepted=True, submitted_at=uow.now(),
                        status="published")
    uow.session.add(offer)
    uow.session.flush()
    return offer.id


def add_public_data(prog: Programme, n: int = 25) -> PublicData:
    with prog.app.uow() as uow:
        north = uow.session.scalars(select(Partnership).where(Partnership.id == prog.north_id)).one()
        draft = Call(code=DRAFT, title="A draft nobody may see", lead_partnership_id=north.id,
                     opens_on=date(2027, 9, 1), closes_on=date(2027, 10, 1),
                     matching_deadline=datetime(2027, 12, 1, 17, 0, tzinfo=UTC), budget=Decimal("1000.00"),
                     rule_set_version="2026.1", formats=["exchange_visit"], status="draft", partnerships=[north])
        uow.session.add(draft)
        uow.session.flush()
        uow.session.add(CallEvent(call_id=prog.call_id, kind="virtual_marketplace", title="Spring matchmaking days",
                                  starts_on=date(2027, 2, 2), ends_on=date(2027, 2, 4), place="online"))
        draft_offer = _offer(uow, draft.id, _org(uow, "Draft Host Lisbon", "PT-DRAFT-1", north.id, True), north.id)
        hidden = _offer(uow, prog.call_id, _org(uow, HIDDEN, "PT-GONE-1", north.id, False), north.id)
        markup = _offer(uow, prog.call_id, _org(uow, MARKUP, "PT-MARK-1", north.id, True), north.id)
        uow.commit()
    return PublicData(draft_offer, hidden, markup, seed_offers(prog.app, prog.call_id, prog.south_id, n, "Seeded"))
