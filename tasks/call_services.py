"""Service tasks of the `call` process: publication, matching rounds (R-MATCH), proposals sent as
messages to the exchange processes, and the call report once every exchange has ended."""
from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, time, timedelta
from typing import Any

from rules.matching import propose_matches
from tasks.exchange_services import BRUSSELS
from tasks.ports import ServiceContext
from tasks.registry import service

ROUND_INTERVAL = timedelta(days=14)


@service("publish_call")
def publish_call(ctx: ServiceContext, data: Mapping[str, Any]) -> dict[str, Any]:
    call = ctx.programme.publish_call(data["call_id"])
    ctx.notify("call_published", call["officer_emails"], {**call, "portal_path": f"/calls/{call['code']}"},
               key=f"call_published:{data['call_id']}")
    opens = datetime.combine(call["opens_on"], time(0, 0), BRUSSELS)
    return {"opens_at": opens.isoformat(), "next_matching_at": call["first_matching_at"], "matching_round": 0}


@service("open_call")
def open_call(ctx: ServiceContext, data: Mapping[str, Any]) -> None:
    ctx.programme.set_call_status(data["call_id"], "open")


@service("run_matching")
def run_matching(ctx: ServiceContext, data: Mapping[str, Any]) -> dict[str, Any]:
    round_no = int(data.get("matching_round") or 0) + 1
    visitors, hosts, rule_set = ctx.programme.matching_pool(data["call_id"])
    result = propose_matches(visitors, hosts, rule_set)
    ids = ctx.programme.store_proposals(data["call_id"], round_no, result)
    ctx.audit("matching_round", subject=f"call:{data['call_id']}", after={
        "round": round_no, "visitors": len(visitors), "hosts": len(hosts),
        "proposals": len(ids), "unmatched": list(result.unmatched), "total_score": str(result.total_score),
    })
    return {"matching_round": round_no, "proposal_count": len(ids), "proposal_ids": ids}


@service("send_proposals")
def send_proposals(ctx: ServiceContext, data: Mapping[str, Any]) -> dict[str, Any]:
    review = dict(data.get("review_proposals") or {})
    dropped = {int(i) for i in review.get("drop_proposals", [])}
    sent = 0
    reassign = list(review.get("reassign") or [])
    for proposal in ctx.programme.release_proposals(data["call_id"], int(data["matching_round"]), dropped,
                                                    reassign, review.get("completed_by")):
        ctx.send_message("exchange", proposal["exchange_id"], "match_proposed", proposal)
        for to, context in ctx.programme.proposal_mails(proposal["proposal_id"]):
            ctx.notify("match_proposed", [to], context, key=f"match_proposed:{proposal['proposal_id']}:{to}")
        sent += 1
    return {"proposals_sent": sent}


@service("plan_next_round")
def plan_next_round(ctx: ServiceContext, data: Mapping[str, Any]) -> dict[str, Any]:
    deadline, waiting = ctx.programme.matching_outlook(data["call_id"])
    next_at = ctx.now() + ROUND_INTERVAL
    more = waiting > 0 and next_at < deadline
    return {"more_rounds": more, "next_matching_at": next_at.isoformat() if more else data.get("next_matching_at")}


@service("check_exchanges_ended")
def check_exchanges_ended(ctx: ServiceContext, data: Mapping[str, Any]) -> dict[str, Any]:
    return {"all_ended": ctx.programme.all_exchanges_ended(data["call_id"])}


@service("build_call_report")
def build_call_report(ctx: ServiceContext, data: Mapping[str, Any]) -> dict[str, Any]:
    report = ctx.programme.close_call(data["call_id"])
    ctx.audit("call_report", subject=f"call:{data['call_id']}", after=report)
    return {"call_report": report}

