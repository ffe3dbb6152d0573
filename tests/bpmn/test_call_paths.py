"""Every path of bpmn/call.bpmn, saved and restored at every step (see harness.py)."""
from __future__ import annotations

from tests.bpmn.harness import GOOD_FORMS, Clock, Run

PARTNERSHIP = 7


def start(clock: Clock, **answers) -> Run:
    script = {
        "publish_call": lambda: {"opens_at": clock.iso(days=1), "next_matching_at": clock.iso(days=10)},
        "run_matching": {"proposal_count": 3},
        "plan_next_round": {"more_rounds": False},
        "check_exchanges_ended": {"all_ended": True},
    }
    script.update(answers)
    return Run("call", {"call_id": 1, "partnership_id": PARTNERSHIP}, script)


def open_call(run: Run, clock: Clock) -> None:
    assert run.offered == ["prepare_call"]
    assert run.assignment("prepare_call") == {"lane": "Administrator", "partnership": PARTNERSHIP}
    run.complete("prepare_call", **GOOD_FORMS["prepare_call"])
    assert run.calls() == ["publish_call"]
    assert run.waiting_for == ["Call opens"]
    run.wait(clock, days=2)
    assert run.calls()[-1] == "open_call"
    assert run.waiting_for == ["Marketplace closes"]


def test_a_round_with_proposals_is_reviewed_and_sent_then_the_call_closes(clock):
    run = start(clock)
    open_call(run, clock)
    run.wait(clock, days=5)
    assert run.calls()[-1] == "open_call"        # the marketplace is still open (closes on day 10)

    run.wait(clock, days=4)
    assert run.calls()[-1] == "run_matching"
    assert run.offered == ["review_proposals"]
    assert run.assignment("review_proposals") == {"lane": "Officer", "partnership": PARTNERSHIP}
    run.complete("review_proposals", **GOOD_FORMS["review_proposals"])

    assert run.finished
    assert run.ends == ["end_call_closed"]
    assert run.calls()[-5:] == [
        "run_matching", "send_proposals", "plan_next_round", "check_exchanges_ended", "build_call_report",
    ]


def test_a_round_without_proposals_skips_the_review_and_another_round_follows(clock):
    run = start(
        clock,
        run_matching=[{"proposal_count": 0}, {"proposal_count": 2}],
        plan_next_round=[
            lambda: {"more_rounds": True, "next_matching_at": clock.iso(days=14)},
            {"more_rounds": False},
        ],
    )
    open_call(run, clock)
    run.wait(clock, days=9)
    assert run.offered == []
    assert run.calls()[-2:] == ["run_matching", "plan_next_round"]
    assert "send_proposals" not in run.calls()
    assert run.waiting_for == ["Marketplace closes"]

    run.wait(clock, days=13)
    assert run.offered == []
    run.wait(clock, days=2)
    assert run.offered == ["review_proposals"]
    run.complete("review_proposals", confirm=True)
    assert run.calls().count("run_matching") == 2
    assert run.ends == ["end_call_closed"]


def test_the_call_report_waits_until_every_exchange_has_ended(clock):
    run = start(clock, check_exchanges_ended=[{"all_ended": False}, {"all_ended": False}, {"all_ended": True}])
    open_call(run, clock)
    run.wait(clock, days=9)
    run.complete("review_proposals", confirm=True)
    assert not run.finished
    assert run.waiting_for == ["Wait a week"]

    run.wait(clock, days=8)
    assert not run.finished
    assert run.calls().count("check_exchanges_ended") == 2
    run.wait(clock, days=8)
    assert run.finished
    assert run.ends == ["end_call_closed"]
    assert run.calls()[-2:] == ["check_exchanges_ended", "build_call_report"]
