"""History events as sentences with their reasons (reports/history_text.py), not JSON."""
from __future__ import annotations

from typing import Any

import pytest

from reports.history_text import describe


@pytest.mark.parametrize(("action", "task", "before", "after", "sentence"), [
    ("exchange_status", None, {"status": "submitted"}, {"status": "committed"},
     "Status changed from Submitted to Visit planned."),
    ("service_task", "Check eligibility", None,
     {"operation": "check_eligibility", "result": {"eligible": False, "eligibility_reasons": [
         {"code": "country", "message": "XX is not an eligible country"}, {"code": "late_submission"}]}},
     "Eligibility checked: not eligible — XX is not an eligible country; Late submission."),
    ("service_task", None, None, {"operation": "check_eligibility", "result": {"eligible": True}},
     "Eligibility checked: eligible."),
    ("service_task", None, None, {"operation": "compute_grant", "result": {
        "grant_amount": "550.00", "grant_reasons": ["halved_short_stay"]}},
     "Grant computed: EUR 550.00 (Halved short stay)."),
    ("task_completed", "Assess the application", None,
     {"form": {"decision": "reject", "comment": "Out of scope."}},
     "Task “Assess the application” completed: Reject — “Out of scope.”."),
    ("task_created", "Approve the host offer", None,
     {"lane": "Officer", "due_at": "2027-01-21T10:00:00+01:00", "follow_up_at": "2027-01-18T10:00:00+01:00"},
     "Task “Approve the host offer” opened for the Officer lane, due Thu 21 Jan 2027, follow-up Mon 18 Jan 2027."),
    ("task_refused", "Validate the evidence", None, {"reason": "officer1 completed the previous step (R-4EYES)"},
     "Refused (task): officer1 completed the previous step (R-4EYES)."),
    ("match_answered", None, None,
     {"accepted": False, "answers": {"visitor": {"accept": True}, "host": {"accept": False, "reason": "Full."}}},
     "Match declined by the host (“Full.”)."),
    ("commitment_agreed", None, {}, {"arrival": "2027-02-07", "departure": "2027-02-13"},
     "Visit planned from Sun 7 Feb 2027 to Sat 13 Feb 2027."),
    ("process_completed", None, None, {"outcome": "end_paid"}, "Process ended: End paid."),
    ("clock_advanced", None, None, {"by_seconds": 60}, "Clock advanced."),
])
def test_an_event_reads_as_a_sentence_with_its_reasons(action: str, task: str | None, before: Any, after: Any,
                                                        sentence: str) -> None:
    assert describe(action, task, before, after) == sentence
