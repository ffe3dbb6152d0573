"""The chaos run's checker can fail (benchmarks/chaos.py `check`): fed a crafted end state, it finds a
lost acknowledged completion, a retried completion whose first attempt did not commit, a step run
twice, a claim in two batches or paid twice, an incident, a broken audit trail, a stuck instance, a
call over its budget and a budget reservation left behind — and finds nothing in a clean state."""
from __future__ import annotations

from benchmarks.chaos import Ack, State, check


def clean_state() -> State:
    """Two exchanges' worth of tasks, each completed once, each claim in one batch and paid once."""
    return State(tasks={1: ("completed", "officer1"), 2: ("completed", "v0"), 3: ("open", None)},
                 completed_events={1: 1, 2: 1},
                 tasks_per_step={(10, "assess_application"): 1, (10, "visitor_accept_match"): 1,
                                 (11, "assess_application"): 1},
                 batches_per_claim={100: [7], 101: [7]}, paid_events_per_exchange={"EX-000001": 1, "EX-000002": 1})


ACKS = [Ack(1, "officer1", 200, retried=False), Ack(2, "v0", 409, retried=True)]


def test_a_clean_state_has_no_problem() -> None:
    problems = check(clean_state(), ACKS, {"ok": True}, {"running": 0, "stuck": []})
    assert not any(problems.values()), problems


def test_an_acknowledged_completion_missing_from_the_database_is_found() -> None:
    state = clean_state()
    state.tasks[1] = ("open", None)  # the API answered 200, but the task is still open
    del state.completed_events[1]
    assert check(state, ACKS)["acknowledged_not_lost"] == [
        "task 1: acknowledged 200 to officer1, but it is open with 0 completion event(s)"]


def test_a_409_on_a_retry_counts_only_when_the_first_attempt_committed_for_the_same_person() -> None:
    state = clean_state()
    state.tasks[2] = ("completed", "someone.else")
    assert check(state, ACKS)["retried_conflicts_committed"] == [
        "task 2: 409 on a retry after a killed server, but it is completed by someone.else (the client was v0)"]
    # and a 409 without a retry (nobody else completes our tasks) is an unexpected answer
    assert check(clean_state(), [Ack(3, "v0", 409, retried=False, detail="already completed")])[
        "unexpected_answers"] == ["task 3: 409 already completed"]


def test_a_step_run_twice_is_found() -> None:
    state = clean_state()
    state.completed_events[2] = 2
    state.tasks_per_step[(10, "submit_evidence")] = 2  # a timer fired twice: its task created twice
    assert check(state, ACKS)["no_step_twice"] == ["task 2: completed 2 times", "instance 10: 2 tasks submit_evidence"]


def test_a_claim_in_two_batches_or_paid_twice_is_found() -> None:
    state = clean_state()
    state.batches_per_claim[101] = [7, 8]
    state.paid_events_per_exchange["EX-000002"] = 2
    assert check(state, ACKS)["no_claim_paid_twice"] == ["exchange EX-000002: paid 2 times",
                                                         "claim 101: in batches [7, 8]"]


def test_an_incident_a_broken_trail_and_a_stuck_instance_are_found() -> None:
    state = clean_state()
    state.incidents[11] = "DeadlockDetected: deadlock detected"
    problems = check(state, ACKS, {"ok": False, "problems": ["event 5: hash mismatch"]},
                     {"running": 1, "stuck": [{"instance": 11, "reason": "no open task"}]})
    assert problems["no_incident"] == ["instance 11: DeadlockDetected: deadlock detected"]
    assert problems["audit_verify"] and "hash mismatch" in problems["audit_verify"][0]
    assert problems["doctor"] == ["instance 11: no open task"]


def test_a_call_over_budget_and_a_reservation_left_behind_are_found() -> None:
    state = clean_state()
    state.over_budget["CXP-1"] = "committed EUR 900.00 + paid EUR 200.00 exceed the budget of EUR 1000.00"
    state.reservations_left = [42]
    assert check(state, ACKS)["budget_kept"] == [
        "call CXP-1: committed EUR 900.00 + paid EUR 200.00 exceed the budget of EUR 1000.00",
        "exchange 42: its budget reservation was never adopted or given back"]
