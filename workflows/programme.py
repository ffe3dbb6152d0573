"""The programme records as service tasks see them: facts for the rules in, decisions recorded out.
Implements `ctx.programme` of `tasks.ports.ServiceContext` inside the caller's transaction."""
from __future__ import annotations

import weakref
from collections.abc import Sequence
from datetime import datetime, time, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from rules.budget import BudgetState
from rules.eligibility import ApplicationFacts, CallWindow, OrgFacts
from rules.explain import Decision
from rules.grant import GrantResult, great_circle_km
from rules.matching import HostOffer, MatchResult, VisitorCandidate
from rules.ruleset import RuleSet, rule_set_from_dict
from tasks.portal import act_path
from tasks.ports import EligibilityFacts, ExchangeFacts
from workflows import budget
from workflows.audit import SYSTEM
from workflows.db.base import must_get
from workflows.db.models import (
    Application,
    Call,
    Claim,
    ClaimStatus,
    Exchange,
    MatchProposal,
    Organisation,
    RuleSetRecord,
    User,
)
from workflows.db.process_models import ProcessInstance

BRUSSELS = ZoneInfo("Europe/Brussels")
VISITED = ("matched", "visit_planned", "awaiting_evidence", "evidence_submitted", "evidence_returned",
           "grant_computed", "waiting_budget", "committed", "awaiting_payment", "paid", "closed",
           "closed_without_grant")


# An exchange in one of these states has ended: its application no longer holds the organisation's
# one place as a visitor (DUPLICATE_APPLICATION); the VISITED ones among the ended count as a visit.
ENDED = ("ineligible", "rejected", "withdrawn", "not_matched", "cancelled", "closed", "closed_without_grant")


def org_facts(org: Organisation) -> OrgFacts:
    return OrgFacts(
        id=org.id, org_type=org.org_type, country=org.country, subdivision=org.subdivision,
        cluster_member=org.cluster_member, host_prior_approval=org.host_prior_approval,
        latitude=org.latitude, longitude=org.longitude, region_category=org.region_category,
        sectors=frozenset(org.sectors or ()),
    )


# The rule sets read so far, per database (its SQLAlchemy engine): versions are immutable.
_RULE_SETS: weakref.WeakKeyDictionary[Engine, dict[str, RuleSet]] = weakref.WeakKeyDictionary()


class Programme:
    def __init__(self, session: Session, now: datetime, audit: Any) -> None:
        self.s = session
        self._now = now
        self.now = now  # the moment of the step these records are changed in
        self._audit = audit  # callable(actor, action, **kwargs)

    # ---- lookups ---------------------------------------------------------------------------------
    def rule_set(self, version: str) -> RuleSet:
        """The rule set of that version, read and checked once per database: a stored version never
        changes (`rule_sets.add_rule_set` refuses other values under a known version)."""
        known = _RULE_SETS.setdefault(self.s.get_bind().engine, {})
        if version not in known:
            row = self.s.get(RuleSetRecord, version)
            if row is None:
                raise LookupError(f"rule set {version} is not loaded: run `cxp init`")
            known[version] = rule_set_from_dict(row.data)
        return known[version]

    def _exchange(self, exchange_id: int) -> Exchange:
        exchange = self.s.get(Exchange, exchange_id)
        if exchange is None:
            raise LookupError(f"exchange {exchange_id} does not exist")
        return exchange

    def _claim(self, exchange_id: int) -> Claim:
        claim = self.s.scalars(select(Claim).where(Claim.exchange_id == exchange_id)).first()
        if claim is None:
            raise LookupError(f"exchange {exchange_id} has no claim yet")
        return claim

    def rule_set_for_exchange(self, exchange_id: int) -> RuleSet:
        call = must_get(self.s, Call, self._exchange(exchange_id).call_id)
        return self.rule_set(call.rule_set_version)

    def record_change(self, action: str, subject: str, before: Any, after: Any) -> None:
        """Put a change of the programme's records on the audit trail (the engine's step, as SYSTEM)."""
        self._audit(SYSTEM, action, subject=subject, before=before, after=after)

    _change = record_change  # the short name inside this module

    def set_exchange_status(self, exchange_id: int, status: str) -> None:
        exchange = self._exchange(exchange_id)
        if exchange.status != status:
            self._change("exchange_status", exchange.ref, {"status": exchange.status}, {"status": status})
            exchange.status = status

    def set_application_status(self, application_id: int, status: str) -> None:
        app = must_get(self.s, Application, application_id)
        if app.status != status:
            self._change("application_status", f"application:{app.id}", {"status": app.status}, {"status": status})
            app.status = status

    def set_call_status(self, call_id: int, status: str) -> None:
        call = must_get(self.s, Call, call_id)
        self._change("call_status", f"call:{call.code}", {"status": call.status}, {"status": status})
        call.status = status

    def admin_emails(self) -> list[str]:
        """The active administrators' addresses (the programme support office)."""
        return list(self.s.scalars(select(User.email).where(User.role == "administrator", User.active)
                                   .order_by(User.id))) or ["support@clusterxchange.local"]

    def _officer_emails(self, *partnership_ids: int | None) -> list[str]:
        ids = [p for p in partnership_ids if p is not None]
        return list(self.s.scalars(
            select(User.email).where(User.role == "officer", User.partnership_id.in_(ids), User.active)
        )) or ["officers@clusterxchange.local"]

    # ---- eligibility -----------------------------------------------------------------------------
    def _facts(self, app: Application) -> tuple[OrgFacts, ApplicationFacts, CallWindow, RuleSet]:
        call = must_get(self.s, Call, app.call_id)
        return (
            org_facts(app.organisation),
            ApplicationFacts(role=app.role, submitted_on=app.submitted_at.astimezone(BRUSSELS).date(),
                             declaration_given=app.declaration_given,
                             audit_rights_accepted=app.audit_rights_accepted, format=app.format),
            CallWindow(call.opens_on, call.closes_on, frozenset(call.formats or ("exchange_visit",))),
            self.rule_set(call.rule_set_version),
        )

    def visitor_eligibility_facts(self, exchange_id: int) -> EligibilityFacts:
        exchange = self._exchange(exchange_id)
        app = must_get(self.s, Application, exchange.visitor_application_id)
        others = (Exchange.visitor_org_id == exchange.visitor_org_id, Exchange.id != exchange.id)
        prior = self.s.scalar(select(func.count(Exchange.id)).where(*others, Exchange.status.in_(VISITED)))
        # an earlier application that has not ended holds the organisation's one place; so does a
        # later one that is already past its own eligibility check (it was judged first)
        live = self.s.scalar(select(func.count(Exchange.id)).where(
            *others, Exchange.status.not_in(ENDED + VISITED),
            (Exchange.id < exchange.id) | Exchange.status.not_in(("submitted",))))
        return EligibilityFacts(*self._facts(app), prior_visits=int(prior or 0), live_applications=int(live or 0))

    def host_eligibility_facts(self, application_id: int) -> EligibilityFacts:
        return EligibilityFacts(*self._facts(must_get(self.s, Application, application_id)), prior_visits=0)

    def record_application_eligibility(self, application_id: int, decision: dict[str, Any]) -> None:
        app = must_get(self.s, Application, application_id)
        app.eligibility = decision
        self.set_application_status(application_id, "eligible" if decision["ok"] else "ineligible")

    def record_eligibility(self, exchange_id: int, decision: dict[str, Any]) -> None:
        exchange = self._exchange(exchange_id)
        self.record_application_eligibility(exchange.visitor_application_id, decision)
        self.set_exchange_status(exchange_id, "eligible" if decision["ok"] else "ineligible")

    def exchange_summary(self, exchange_id: int) -> dict[str, Any]:
        exchange = self._exchange(exchange_id)
        visitor = must_get(self.s, Organisation, exchange.visitor_org_id)
        host = self.s.get(Organisation, exchange.host_org_id) if exchange.host_org_id else None
        claim = self.s.scalars(select(Claim).where(Claim.exchange_id == exchange_id)).first()
        call = must_get(self.s, Call, exchange.call_id)
        return {
            "recipient_name": visitor.legal_name, "organisation": visitor.legal_name,
            "application_id": exchange.visitor_application_id, "call_title": call.title,
            "exchange_id": exchange.ref,
            "exchange_ref": exchange.ref, "visitor_name": visitor.legal_name, "visitor_email": visitor.contact_email,
            "host_name": host.legal_name if host else None, "host_email": host.contact_email if host else None,
            "arrival": exchange.arrival.isoformat() if exchange.arrival else None,
            "departure": exchange.departure.isoformat() if exchange.departure else None,
            "amount": f"{claim.amount:.2f}" if claim else None,
            "officer_emails": self._officer_emails(exchange.visitor_partnership_id),
        }

    def application_summary(self, application_id: int) -> dict[str, Any]:
        app = must_get(self.s, Application, application_id)
        return {"application_id": app.id, "organisation": app.organisation.legal_name,
                "recipient_name": app.organisation.legal_name, "call_title": must_get(self.s, Call, app.call_id).title,
                "email": app.organisation.contact_email, "role": app.role,
                "reasons": [r["message"] for r in (app.eligibility or {}).get("reasons", [])]}

    # ---- matching --------------------------------------------------------------------------------
    def register_for_matching(self, exchange_id: int) -> datetime:
        exchange = self._exchange(exchange_id)
        self.set_application_status(exchange.visitor_application_id, "awaiting_match")
        self.set_exchange_status(exchange_id, "awaiting_match")
        return must_get(self.s, Call, exchange.call_id).matching_deadline

    def withdraw_from_matching(self, exchange_id: int) -> None:
        self.set_application_status(self._exchange(exchange_id).visitor_application_id, "not_matched")

    def host_load(self, call_id: int) -> dict[int, int]:
        rows = self.s.execute(select(Exchange.host_application_id, func.count()).where(
            Exchange.call_id == call_id, Exchange.host_application_id.is_not(None),
            Exchange.status.in_(VISITED)).group_by(Exchange.host_application_id))
        pending = self.s.execute(select(MatchProposal.host_application_id, func.count()).where(
            MatchProposal.call_id == call_id, MatchProposal.status == "sent"
        ).group_by(MatchProposal.host_application_id))
        load: dict[int, int] = {}
        for host_id, n in list(rows) + list(pending):
            if host_id is not None:  # excluded by the first query's WHERE; a proposal always names its host
                load[host_id] = load.get(host_id, 0) + n
        return load

    def matching_pool(self, call_id: int) -> tuple[list[VisitorCandidate], list[HostOffer], RuleSet]:
        call = must_get(self.s, Call, call_id)
        declined: dict[int, set[int]] = {}
        for v, h in self.s.execute(select(MatchProposal.visitor_application_id, MatchProposal.host_application_id)
                                   .where(MatchProposal.call_id == call_id, MatchProposal.status == "declined")):
            declined.setdefault(v, set()).add(h)
        taken = self._organisations_with_a_visit(call_id)
        visitors = []
        for a in self.s.scalars(select(Application).where(
                Application.call_id == call_id, Application.role == "visitor",
                Application.status == "awaiting_match").order_by(Application.id)):
            if a.organisation_id in taken or not a.organisation.active:  # one organisation is never
                continue  # proposed twice (R-ELIG); a deactivated one never (workflows/services/partnerships.py)
            taken.add(a.organisation_id)
            visitors.append(VisitorCandidate(a.id, org_facts(a.organisation), frozenset(a.sectors or ()),
                                             frozenset(a.wished_countries or ()), a.date_from, a.date_to,
                                             frozenset(declined.get(a.id, ())), frozenset(a.preferred_offers or ())))
        load = self.host_load(call_id)
        hosts = []
        for a in self.s.scalars(select(Application).where(
                Application.call_id == call_id, Application.role == "host",
                Application.status == "published").order_by(Application.id)):
            free = a.capacity - load.get(a.id, 0)
            if free > 0 and a.organisation.active:
                hosts.append(HostOffer(a.id, org_facts(a.organisation), free, a.date_from, a.date_to,
                                       frozenset(a.sectors or ())))
        return visitors, hosts, self.rule_set(call.rule_set_version)

    def _organisations_with_a_visit(self, call_id: int) -> set[int]:
        """Visitor organisations that hold a visit (matched or beyond) or a proposal waiting for its
        answers, in any call: none of them may be proposed again."""
        visiting = set(self.s.scalars(select(Exchange.visitor_org_id).where(Exchange.status.in_(VISITED))))
        pending = self.s.scalars(select(Application.organisation_id).join(
            MatchProposal, MatchProposal.visitor_application_id == Application.id).where(
            MatchProposal.status == "sent"))
        return visiting | set(pending)

    def store_proposals(self, call_id: int, round_no: int, result: MatchResult) -> list[int]:
        ids = []
        for p in result.proposals:
            row = MatchProposal(call_id=call_id, round=round_no, visitor_application_id=p.visitor_application_id,
                                host_application_id=p.host_application_id, score=p.score,
                                explanation=_jsonable(p.explanation), status="proposed", created_at=self._now)
            self.s.add(row)
            self.s.flush()
            ids.append(row.id)
        return ids

    def release_proposals(self, call_id: int, round_no: int, dropped: set[int],
                          reassign: Sequence[dict[str, Any]] = (), by: int | None = None) -> list[dict[str, Any]]:
        """Send the round's proposals, after the officer's overrides and without the dropped ones."""
        if reassign:
            from workflows.match_overrides import apply_overrides

            apply_overrides(self, call_id, round_no, reassign, by)
        out = []
        for p in self.s.scalars(select(MatchProposal).where(
                MatchProposal.call_id == call_id, MatchProposal.round == round_no,
                MatchProposal.status == "proposed").order_by(MatchProposal.id)):
            if p.id in dropped:
                p.status = "dropped"
                continue
            exchange = self.s.scalars(select(Exchange).where(
                Exchange.visitor_application_id == p.visitor_application_id)).one()
            if not self._waits_for_a_match(exchange):  # its deadline passed, or it was cancelled meanwhile
                p.status = "expired"
                self._change("proposal_expired", exchange.ref, None, {"proposal": p.id, "status": exchange.status})
                continue
            host_app = must_get(self.s, Application, p.host_application_id)
            p.status = "sent"
            self.set_application_status(p.visitor_application_id, "proposed")
            out.append({
                "exchange_id": exchange.id, "proposal_id": p.id, "host_application_id": host_app.id,
                "host_org_id": host_app.organisation_id, "host_partnership_id": host_app.partnership_id,
                "host_name": host_app.organisation.legal_name, "score": str(p.score),
            })
        return out

    def proposal_mails(self, proposal_id: int) -> list[tuple[str, dict[str, Any]]]:
        """The `match_proposed` email of each side of a proposal just sent: (address, context); the link
        opens that side's task to accept or decline (`tasks.portal.act_path`)."""
        proposal = must_get(self.s, MatchProposal, proposal_id)
        visitor_app = must_get(self.s, Application, proposal.visitor_application_id)
        host_app = must_get(self.s, Application, proposal.host_application_id)
        exchange = self.s.scalars(select(Exchange).where(Exchange.visitor_application_id == visitor_app.id)).one()
        days = self.rule_set(must_get(self.s, Call, proposal.call_id).rule_set_version).applicant_task_due_days
        respond_by = (self._now.astimezone(BRUSSELS) + timedelta(days=days)).date().isoformat()
        shared = {"exchange_id": exchange.ref, "start_date": max(visitor_app.date_from, host_app.date_from).isoformat(),
                  "end_date": min(visitor_app.date_to, host_app.date_to).isoformat(), "respond_by": respond_by,
                  "reasons": list((proposal.explanation or {}).get("reasons", []))}
        out = []
        for me, other, task in ((visitor_app.organisation, host_app.organisation, "visitor_accept_match"),
                                (host_app.organisation, visitor_app.organisation, "host_accept_match")):
            out.append((me.contact_email, {**shared, "recipient_name": me.legal_name, "organisation": me.legal_name,
                                           "partner_organisation": other.legal_name, "partner_country": other.country,
                                           "portal_path": act_path(exchange.ref, task)}))
        return out

    def _waits_for_a_match(self, exchange: Exchange) -> bool:
        instance = self.s.scalars(select(ProcessInstance).where(
            ProcessInstance.subject_type == "exchange", ProcessInstance.subject_id == exchange.id)).first()
        return instance is not None and "match_proposed" in (instance.waiting_messages or [])

    def record_match_answer(self, exchange_id: int, proposal_id: int, accepted: bool, answers: dict[str, Any]) -> None:
        exchange = self._exchange(exchange_id)
        proposal = must_get(self.s, MatchProposal, proposal_id)
        proposal.status = "accepted" if accepted else "declined"
        self._change("match_answered", exchange.ref, None, {"proposal": proposal_id, "accepted": accepted,
                                                            "answers": answers})
        if accepted:
            host_app = must_get(self.s, Application, proposal.host_application_id)
            exchange.host_application_id = host_app.id
            exchange.host_org_id = host_app.organisation_id
            exchange.host_partnership_id = host_app.partnership_id
            exchange.proposal_id = proposal.id
            self.set_application_status(exchange.visitor_application_id, "matched")
            self.set_exchange_status(exchange_id, "matched")
        else:
            self.set_application_status(exchange.visitor_application_id, "awaiting_match")
            self.set_exchange_status(exchange_id, "awaiting_match")

    def matching_outlook(self, call_id: int) -> tuple[datetime, int]:
        call = must_get(self.s, Call, call_id)
        waiting = self.s.scalar(select(func.count(Application.id)).where(
            Application.call_id == call_id, Application.role == "visitor",
            Application.status.in_(("awaiting_match", "submitted", "eligible", "proposed"))))
        return call.matching_deadline, int(waiting or 0)

    # ---- the visit -------------------------------------------------------------------------------
    def exchange_facts(self, exchange_id: int) -> ExchangeFacts:
        exchange = self._exchange(exchange_id)
        visitor = must_get(self.s, Organisation, exchange.visitor_org_id)
        host = must_get(self.s, Organisation, exchange.host_org_id)
        activities = tuple(a.get("kind") for a in (exchange.agenda or {}).get("activities", []))
        return ExchangeFacts(
            org_facts(visitor), org_facts(host), exchange.format, self.rule_set_for_exchange(exchange_id),
            activities, great_circle_km(visitor.latitude, visitor.longitude, host.latitude, host.longitude),
        )

    def record_commitment(self, exchange_id: int, form: dict[str, Any], decision: dict[str, Any], ok: bool) -> None:
        exchange = self._exchange(exchange_id)
        before = {"arrival": exchange.arrival, "departure": exchange.departure}
        exchange.agenda = {"agenda": form.get("agenda"), "activities": form.get("activities", []),
                           "duration_check": decision}
        exchange.arrival = datetime.fromisoformat(form["arrival"]).date()
        exchange.departure = datetime.fromisoformat(form["departure"]).date()
        self._change("commitment_agreed" if ok else "commitment_refused", exchange.ref, before,
                     {"arrival": form["arrival"], "departure": form["departure"], "check": decision})

    def record_extension(self, exchange_id: int, extension: dict[str, Any]) -> None:
        exchange = self._exchange(exchange_id)
        exchange.extensions = [*(exchange.extensions or []), extension]
        if extension["applied"]:
            before = exchange.departure
            exchange.departure = datetime.fromisoformat(extension["requested_departure"]).date()
            self._change("extension_applied", exchange.ref, {"departure": before}, extension)
        else:
            self._change("extension_refused", exchange.ref, None, extension)

    def record_cancellation(self, exchange_id: int, reason: str) -> None:
        exchange = self._exchange(exchange_id)
        exchange.cancelled = True
        self._change("exchange_cancelled", exchange.ref, None, {"reason": reason})

    def record_evidence(self, exchange_id: int, evidence: dict[str, Any], working_days: dict[str, Any]) -> None:
        exchange = self._exchange(exchange_id)
        before = {"evidence": exchange.evidence, "working_days": exchange.working_days}
        exchange.evidence = _jsonable(evidence)
        exchange.working_days = working_days
        self._change("evidence_recorded", exchange.ref, before, {"working_days": working_days})
        self.set_exchange_status(exchange_id, "evidence_submitted")

    # ---- the grant and the claim -----------------------------------------------------------------
    def record_claim(self, exchange_id: int, result: dict[str, Any], override: dict[str, Any] | None, validated_by: int | None) -> None:
        exchange = self._exchange(exchange_id)
        amount = Decimal(override["amount"]) if override else Decimal(result["amount"])
        claim = self.s.scalars(select(Claim).where(Claim.exchange_id == exchange_id)).first()
        before = None
        if claim is None:
            claim = Claim(exchange_id=exchange_id, call_id=exchange.call_id,
                          partnership_id=exchange.visitor_partnership_id, created_at=self._now)
            self.s.add(claim)
        else:
            before = {"amount": claim.amount, "status": claim.status}
        claim.amount, claim.computation, claim.override = amount, result, override
        claim.status, claim.validated_by = ClaimStatus.COMPUTED, validated_by
        self._change("grant_computed", exchange.ref, before, {"amount": amount, "computation": result,
                                                              "override": override})
        self.set_exchange_status(exchange_id, "grant_computed")

    def release_claim(self, exchange_id: int, reason: str) -> None:
        claim = self._claim(exchange_id)
        claim.status, claim.status_reason = ClaimStatus.RELEASED, reason[:300]

    def _budget_state(self, call: Call) -> BudgetState:
        return budget.budget_state(self.s, call)

    def commit_budget(self, exchange_id: int) -> Decision:
        """R-BUDGET: commit the claim against its call's budget.

        The amount is reserved first (`workflows.budget.reserve`): on PostgreSQL in a short transaction
        of its own, which locks the call row `FOR NO KEY UPDATE` only while it checks and inserts the
        reservation, and commits it at once — the rest of this step (the approval task, the instance's
        state, the audit events) no longer keeps every other grant of the call waiting (issue 21). The
        reservation is adopted here, in the step's transaction, as the claim is marked committed. A
        retried step reuses its reservation. The lock is `FOR NO KEY UPDATE`, not `FOR UPDATE`: a claim's
        foreign key takes `FOR KEY SHARE` on the call row, and two steps each holding that share while
        asking `FOR UPDATE` deadlocked (found by benchmarks/chaos.py when the lock was taken here)."""
        claim = self._claim(exchange_id)
        decision = budget.reserve(self.s, exchange_id, claim.call_id, claim.amount, self._now)
        if decision.ok:
            budget.adopt(self.s, exchange_id)
        claim.status = ClaimStatus.COMMITTED if decision.ok else ClaimStatus.WAITING_BUDGET
        claim.status_reason = None if decision.ok else "BUDGET_EXHAUSTED"
        self._change("budget_committed" if decision.ok else "budget_exhausted", self._exchange(exchange_id).ref,
                     None, decision.to_dict())
        self.set_exchange_status(exchange_id, "committed" if decision.ok else "waiting_budget")
        return decision

    def budget_summary(self, exchange_id: int) -> dict[str, Any]:
        """What the emails about an exchange's grant and its call's budget say."""
        claim = self._claim(exchange_id)
        call = must_get(self.s, Call, claim.call_id)
        state = self._budget_state(call)
        return {**self.exchange_summary(exchange_id), "call_code": call.code, "budget": f"{call.budget:.2f}",
                "remaining": f"{state.remaining:.2f}", "amount": f"{claim.amount:.2f}"}

    def claim_grant(self, exchange_id: int) -> tuple[GrantResult, dict[str, Any] | None]:
        claim = self._claim(exchange_id)
        c = claim.computation
        result = GrantResult(amount=Decimal(c["amount"]), model=c["model"], reasons=tuple(c["reasons"]),
                             inputs=c.get("inputs", {}), rule_set_version=c["rule_set_version"])
        return result, claim.override

    def finalise_override(self, exchange_id: int, final: dict[str, Any]) -> None:
        claim = self._claim(exchange_id)
        claim.computation = final
        claim.amount = Decimal(final["amount"])
        self._change("override_approved", self._exchange(exchange_id).ref, None, final)

    def approve_claim(self, exchange_id: int, approver: int | None) -> None:
        claim = self._claim(exchange_id)
        org = must_get(self.s, Organisation, self._exchange(exchange_id).visitor_org_id)
        claim.status, claim.approved_by, claim.approved_at = ClaimStatus.APPROVED, approver, self._now
        claim.creditor_name = claim.creditor_name or org.account_holder or org.legal_name
        claim.iban, claim.bic = claim.iban or org.iban, claim.bic or org.bic
        self._change("payment_approved", self._exchange(exchange_id).ref, None,
                     {"amount": claim.amount, "approved_by": approver})
        self.set_exchange_status(exchange_id, "awaiting_payment")

    def correct_bank_details(self, exchange_id: int, details: dict[str, Any], verified_by: int | None) -> None:
        claim = self._claim(exchange_id)
        before = {"iban": claim.iban, "bic": claim.bic, "creditor_name": claim.creditor_name}
        claim.iban, claim.bic = details["iban"].replace(" ", "").upper(), details.get("bic")
        claim.creditor_name = details["account_holder"]
        claim.status, claim.status_reason, claim.batch_id = ClaimStatus.APPROVED, None, None
        org = must_get(self.s, Organisation, self._exchange(exchange_id).visitor_org_id)
        org.iban, org.bic, org.account_holder = claim.iban, claim.bic, claim.creditor_name
        self._change("bank_details_corrected", self._exchange(exchange_id).ref, before,
                     {**{k: getattr(claim, k) for k in ("iban", "bic", "creditor_name")}, "verified_by": verified_by})

    # ---- the call --------------------------------------------------------------------------------
    def publish_call(self, call_id: int) -> dict[str, Any]:
        call = must_get(self.s, Call, call_id)
        self.set_call_status(call_id, "published")
        windows = [e for e in call.events if e.kind == "virtual_marketplace"]
        first_close = windows[0].ends_on if windows else call.closes_on
        return {"code": call.code, "title": call.title, "call_title": call.title, "opens_on": call.opens_on,
                "recipient_name": "Programme officers", "budget": f"{call.budget:.2f}",
                "closes_on": call.closes_on.isoformat(),
                "first_matching_at": datetime.combine(first_close, time(18), BRUSSELS).isoformat(),
                "officer_emails": self._officer_emails(*(p.id for p in call.partnerships))}

    def all_exchanges_ended(self, call_id: int) -> bool:
        open_count = self.s.scalar(select(func.count(ProcessInstance.id)).join(
            Exchange, (ProcessInstance.subject_type == "exchange") & (ProcessInstance.subject_id == Exchange.id)
        ).where(Exchange.call_id == call_id, ProcessInstance.status != "completed"))
        return int(open_count or 0) == 0

    def close_call(self, call_id: int) -> dict[str, Any]:
        by_status = dict(self.s.execute(select(Exchange.status, func.count()).where(
            Exchange.call_id == call_id).group_by(Exchange.status)).all())
        call = must_get(self.s, Call, call_id)
        state = self._budget_state(call)
        self.set_call_status(call_id, "closed")
        return {"exchanges": by_status, "budget": str(call.budget), "paid": str(state.paid),
                "committed": str(state.committed), "remaining": str(state.remaining)}

    # ---- registration (bpmn/registration.bpmn) ---------------------------------------------------
    def registration_summary(self, registration_id: int) -> dict[str, Any]:
        """What the registration's emails say: the organisation, the contact, the partnership, the last
        reason, question and answer."""
        from workflows.db.models import Partnership
        from workflows.db.registration_models import Registration

        reg = must_get(self.s, Registration, registration_id)
        org = must_get(self.s, Organisation, reg.organisation_id)
        user = must_get(self.s, User, reg.user_id)
        return {"registration_id": reg.id, "organisation": org.legal_name, "legal_id": org.legal_id,
                "recipient_name": user.display_name, "username": user.username, "email": org.contact_email,
                "partnership": must_get(self.s, Partnership, reg.partnership_id).name,
                "reason": reg.reason or "", "question": reg.question or "", "answer": reg.answer or ""}

    def record_registration(self, registration_id: int, status: str, decided_by: str | None = None,
                            **texts: str | None) -> None:
        """Set the registration's status (the organisation's too) and the texts given (`reason`,
        `question`, `answer`); a decision records who took it and when."""
        from workflows.db.registration_models import Registration

        reg = must_get(self.s, Registration, registration_id)
        org = must_get(self.s, Organisation, reg.organisation_id)
        before = {"status": reg.status}
        reg.status = org.registration_status = status
        for name, value in texts.items():
            setattr(reg, name, value)
        if decided_by is not None:
            reg.decided_by, reg.decided_at = decided_by, self._now
        self._change("registration_status", f"registration:{reg.id}", before,
                     {"status": status, **texts, **({"decided_by": decided_by} if decided_by else {})})

    def last_completed_by(self, instance_id: int, task_spec: str) -> str | None:
        """The username of whoever completed the latest `task_spec` of the instance."""
        from workflows.db.process_models import HumanTask

        return self.s.scalar(select(User.username).join(HumanTask, HumanTask.completed_by == User.id).where(
            HumanTask.instance_id == instance_id, HumanTask.task_spec == task_spec,
            HumanTask.status == "completed").order_by(HumanTask.id.desc()).limit(1))


def _jsonable(value: Any) -> Any:
    from workflows.audit import jsonable

    return jsonable(value)


