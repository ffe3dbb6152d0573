"""An officer's override of a matching round's proposals (R-MATCH: "officers can override a proposal").

The officer who reviews a round may put a visitor with another host offer (or with one when the solver
left the visitor unmatched). The pair must still be feasible: different organisations in different
countries (``SAME_COUNTRY``, ``SAME_ORGANISATION``), a host the visitor did not decline before
(``HOST_EXCLUDED``), dates that overlap by the working days plus two travel days
(``DATES_DO_NOT_OVERLAP``), a published offer of the same call with a free place (``NOT_A_HOST_OFFER``,
``HOST_FULL``) and a visitor of the call still waiting for a match (``NOT_WAITING``). A feasible
override replaces the proposal before it is sent (``match_overridden``); a refused one is recorded
with its reasons (``match_override_refused``) and the solver's proposal stands.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from rules.explain import jsonable
from rules.matching import HostOffer, VisitorCandidate, explain_fit
from workflows.db.base import must_get
from workflows.db.models import Application, Call, MatchProposal

if TYPE_CHECKING:
    from workflows.programme import Programme

MESSAGES = {
    "SAME_COUNTRY": "visitor and host are in the same country; an exchange must cross a border",
    "SAME_ORGANISATION": "visitor and host are the same organisation",
    "HOST_EXCLUDED": "the visitor declined this host in an earlier round",
    "DATES_DO_NOT_OVERLAP": "the visitor's wished dates and the host's available dates do not overlap "
                            "by the working days plus two travel days",
    "NOT_A_HOST_OFFER": "there is no published host offer with this id in the call",
    "HOST_FULL": "the host offer has no free place left in this round",
    "NOT_WAITING": "there is no visitor application with this id waiting for a match in the call",
    "ORGANISATION_INACTIVE": "the visitor's or the host's organisation is deactivated: it cannot be matched",
}


def _round(programme: Programme, call_id: int, round_no: int) -> tuple[dict[int, MatchProposal], dict[int, int]]:
    """The round's proposals by visitor, and each host offer's places taken (visits, sent and proposed)."""
    proposals = {p.visitor_application_id: p for p in programme.s.scalars(select(MatchProposal).where(
        MatchProposal.call_id == call_id, MatchProposal.round == round_no, MatchProposal.status == "proposed"))}
    load = programme.host_load(call_id)
    for p in proposals.values():
        load[p.host_application_id] = load.get(p.host_application_id, 0) + 1
    return proposals, load


def override_problems(programme: Programme, call_id: int, round_no: int,
                      reassign: Iterable[Mapping[str, Any]]) -> list[list[dict[str, str]]]:
    """For each override in turn (as `apply_overrides` would take them), why it would be refused —
    `{code, message}` each (an empty list: it would pass); nothing is changed."""
    call = must_get(programme.s, Call, call_id)
    rule_set = programme.rule_set(call.rule_set_version)
    proposals, load = _round(programme, call_id, round_no)
    found = []
    for item in reassign:
        visitor_id, host_id, proposal, reasons, _fit = _judge(programme, call_id, rule_set, item, proposals, load)
        if not reasons:
            _book(load, host_id, proposal.host_application_id if proposal else None)
        found.append([{"code": code, "message": MESSAGES[code]} for code in reasons])
    return found


def _judge(programme: Programme, call_id: int, rule_set: Any, item: Mapping[str, Any],
           proposals: dict[int, MatchProposal], load: dict[int, int]
           ) -> tuple[int, int, MatchProposal | None, list[str], dict[str, Any]]:
    """One override checked as the solver checks a pair: (visitor id, host id, the visitor's proposal,
    the codes of why it is refused — none when it passes —, the pair's fit when it was computed)."""
    visitor_id, host_id = int(item["visitor_application_id"]), int(item["host_application_id"])
    visitor, host = programme.s.get(Application, visitor_id), programme.s.get(Application, host_id)
    proposal = proposals.get(visitor_id)
    reasons = _problems(programme, call_id, visitor, host, load, proposal)
    fit: dict[str, Any] = {}
    if not reasons and visitor is not None and host is not None:  # _problems names a missing one
        fit = explain_fit(_visitor(programme, visitor, call_id), _host(host), rule_set)
        reasons = list(fit["infeasible"])
    return visitor_id, host_id, proposal, reasons, fit


def _book(load: dict[int, int], host_id: int, previous_host_id: int | None) -> None:
    """A visitor moved to `host_id`: one place more taken there, one freed at its previous host."""
    load[host_id] = load.get(host_id, 0) + 1
    if previous_host_id is not None:
        load[previous_host_id] = load.get(previous_host_id, 1) - 1


def host_places(programme: Programme, call_id: int, round_no: int | None) -> list[tuple[Application, int]]:
    """The call's published host offers with the places each has left in the round, by organisation name."""
    _, load = _round(programme, call_id, round_no) if round_no is not None else ({}, programme.host_load(call_id))
    hosts = programme.s.scalars(select(Application).where(
        Application.call_id == call_id, Application.role == "host", Application.status == "published"))
    return sorted(((h, max(0, h.capacity - load.get(h.id, 0))) for h in hosts),
                  key=lambda pair: (pair[0].organisation.legal_name, pair[0].id))


def apply_overrides(programme: Programme, call_id: int, round_no: int,
                    reassign: Iterable[Mapping[str, Any]], by: int | None) -> list[dict[str, Any]]:
    """Apply each override that passes the checks; return what happened to each, in order."""
    call = must_get(programme.s, Call, call_id)
    rule_set = programme.rule_set(call.rule_set_version)
    proposals, load = _round(programme, call_id, round_no)
    outcomes = []
    for item in reassign:
        visitor_id, host_id, proposal, reasons, fit = _judge(programme, call_id, rule_set, item, proposals, load)
        outcome: dict[str, Any] = {"visitor_application_id": visitor_id, "host_application_id": host_id,
                   "previous_host_application_id": proposal.host_application_id if proposal else None,
                   "by": by}
        if reasons:
            outcome["reasons"] = [{"code": code, "message": MESSAGES[code]} for code in reasons]
            programme.record_change("match_override_refused", f"call:{call.code}", None, outcome)
        else:
            proposal = _move(programme, call_id, round_no, proposal, visitor_id, host_id, fit, by)
            proposals[visitor_id] = proposal
            _book(load, host_id, outcome["previous_host_application_id"])
            outcome["score"] = str(fit["score"])
            programme.record_change("match_overridden", f"call:{call.code}", None, outcome)
        outcomes.append(outcome)
    return outcomes


def _problems(programme: Programme, call_id: int, visitor: Application | None, host: Application | None,
              load: dict[int, int], proposal: MatchProposal | None) -> list[str]:
    problems = []
    if visitor is None or visitor.call_id != call_id or visitor.role != "visitor" or (
            proposal is None and visitor.status != "awaiting_match"):
        problems.append("NOT_WAITING")
    if host is None or host.call_id != call_id or host.role != "host" or host.status != "published":
        problems.append("NOT_A_HOST_OFFER")
    elif load.get(host.id, 0) >= host.capacity and not (proposal and proposal.host_application_id == host.id):
        problems.append("HOST_FULL")
    if any(a is not None and not a.organisation.active for a in (visitor, host)):
        problems.append("ORGANISATION_INACTIVE")
    return problems


def _visitor(programme: Programme, app: Application, call_id: int) -> VisitorCandidate:
    from workflows.programme import org_facts

    declined = frozenset(programme.s.scalars(select(MatchProposal.host_application_id).where(
        MatchProposal.call_id == call_id, MatchProposal.visitor_application_id == app.id,
        MatchProposal.status == "declined")))
    return VisitorCandidate(app.id, org_facts(app.organisation), frozenset(app.sectors or ()),
                            frozenset(app.wished_countries or ()), app.date_from, app.date_to, declined)


def _host(app: Application) -> HostOffer:
    from workflows.programme import org_facts

    return HostOffer(app.id, org_facts(app.organisation), app.capacity, app.date_from, app.date_to,
                     frozenset(app.sectors or ()))


def _move(programme: Programme, call_id: int, round_no: int, proposal: MatchProposal | None,
          visitor_id: int, host_id: int, fit: dict[str, Any], by: int | None) -> MatchProposal:
    explanation = jsonable({**fit, "override": {"by": by, "previous_host_application_id":
                                                proposal.host_application_id if proposal else None}})
    if proposal is None:
        proposal = MatchProposal(call_id=call_id, round=round_no, visitor_application_id=visitor_id,
                                 status="proposed", created_at=programme.now)
        programme.s.add(proposal)
    proposal.host_application_id, proposal.score, proposal.explanation = host_id, fit["score"], explanation
    programme.s.flush()
    return proposal
