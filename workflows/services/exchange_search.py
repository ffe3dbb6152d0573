"""Finding exchanges: the search of auditors, officers and the web's exchange list, scoped by
`access.exchange_scope` (an officer their partnerships' exchanges, an applicant their organisation's)."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import ColumnElement, and_, func, or_, select
from sqlalchemy.orm import aliased

from workflows.db.base import must_get
from workflows.db.folding import contains_pattern
from workflows.db.models import Call, Exchange, Organisation, Partnership
from workflows.db.process_models import ProcessInstance
from workflows.services import Invalid, access
from workflows.services.access import Principal
from workflows.services.inbox import MAX_PAGE_SIZE, reading
from workflows.services.outputs import ExchangeOut, ExchangePage, OrganisationRef

if TYPE_CHECKING:
    from workflows.app import App
    from workflows.uow import UnitOfWork

_VISITOR, _HOST = aliased(Organisation), aliased(Organisation)


def _conditions(q: str | None, status: str | None, country: str | None) -> list[Any]:
    where: list[Any] = []
    if q and q.strip():
        text = q.strip()
        matches: list[ColumnElement[bool]] = [func.upper(Exchange.ref).like(f"%{text.upper()}%")]
        pattern = contains_pattern(text)
        if pattern:  # a name in any script, case or accent: the organisations' folded column
            matches += [_VISITOR.search_fold.like(pattern, escape="\\"), _HOST.search_fold.like(pattern, escape="\\")]
        if len(text) == 2 and text.isalpha():
            matches += [_VISITOR.country == text.upper(), _HOST.country == text.upper()]
        where.append(or_(*matches))
    if status:
        where.append(Exchange.status == status)
    if country:
        if len(country.strip()) != 2 or not country.strip().isalpha():
            raise Invalid.field("country", f"{country!r} is not a two-letter country code")
        code = country.strip().upper()
        where.append(or_(_VISITOR.country == code, _HOST.country == code))
    return where


def search_exchanges(source: App | UnitOfWork, principal: Principal, q: str | None = None,
                     status: str | None = None, country: str | None = None, page: int = 1,
                     page_size: int = 50) -> ExchangePage:
    """The exchanges the principal may see whose reference, visiting or host organisation's legal name,
    legal id or city (in any script, case or accent: `workflows.db.folding`) or country code matches
    `q`, in `status`, with an organisation in `country`; by reference, paged (1-based, `page_size` 1..200)."""
    if page < 1:
        raise Invalid.field("page", "must be 1 or more")
    if not 1 <= page_size <= MAX_PAGE_SIZE:
        raise Invalid.field("page_size", f"must be between 1 and {MAX_PAGE_SIZE}")
    latest = (select(func.max(ProcessInstance.id)).where(ProcessInstance.subject_type == "exchange",
                                                         ProcessInstance.subject_id == Exchange.id)
              .correlate(Exchange).scalar_subquery())
    base = (select(Exchange, Call.code, Partnership.code, _VISITOR, _HOST, latest)
            .join(Call, Call.id == Exchange.call_id)
            .join(Partnership, Partnership.id == Exchange.visitor_partnership_id)
            .join(_VISITOR, _VISITOR.id == Exchange.visitor_org_id)
            .outerjoin(_HOST, _HOST.id == Exchange.host_org_id)
            .where(and_(access.exchange_scope(principal), *_conditions(q, status, country))))
    with reading(source) as uow:
        total = uow.session.scalar(select(func.count()).select_from(base.subquery()))
        rows = uow.session.execute(base.order_by(Exchange.ref).limit(page_size).offset((page - 1) * page_size)).all()
        found = [exchange_out(x, call, partnership, visitor, host, instance_id)
                 for x, call, partnership, visitor, host, instance_id in rows]
    return ExchangePage(exchanges=found, total=int(total or 0), page=page, page_size=page_size)


def _org(org: Organisation) -> OrganisationRef:
    return OrganisationRef(id=org.id, name=org.legal_name, country=org.country)


def exchange_out(x: Exchange, call: str, partnership: str, visitor: Organisation, host: Organisation | None,
                 instance_id: int | None) -> ExchangeOut:
    return ExchangeOut(ref=x.ref, call=call, status=x.status, outcome=x.outcome, format=x.format,
                       visitor=_org(visitor), host=_org(host) if host else None, arrival=x.arrival, departure=x.departure,
                       visitor_partnership=partnership, instance_id=instance_id)


def exchange_detail(source: App | UnitOfWork, principal: Principal, ref: str) -> ExchangeOut:
    """One exchange the principal may see, by its reference (EX-…) or id."""
    with reading(source) as uow:
        x = access.visible_exchange(uow, principal, ref)
        s = uow.session
        instance_id = s.scalar(select(func.max(ProcessInstance.id)).where(
            ProcessInstance.subject_type == "exchange", ProcessInstance.subject_id == x.id))
        return exchange_out(x, must_get(s, Call, x.call_id).code, must_get(s, Partnership, x.visitor_partnership_id).code,
                            must_get(s, Organisation, x.visitor_org_id),
                            must_get(s, Organisation, x.host_org_id) if x.host_org_id else None, instance_id)
