"""Through the real service: data a rule cannot use is refused at the form, naming the field, with
nothing written — the exchange never opens an incident over a person's typo (issue 10, point 2)."""
from __future__ import annotations

from datetime import date

from tests.workflows.builders import (  # noqa: F401
    ARRIVAL,
    DEPARTURE,
    VISITOR,
    Programme,
    commitment,
    evidence,
    programme,
)
from tests.workflows.test_task_completion import form_refused


def test_an_attended_day_outside_the_stay_is_refused_at_the_form(programme: Programme) -> None:  # noqa: F811
    programme.awaiting_evidence()
    data = evidence(attended=[date(2027, 2, 8), date(2027, 2, 20)])
    message = form_refused(programme, "submit_evidence", VISITOR, data)
    assert message.endswith("attended_days: 2027-02-20 not in the stay 2027-02-07 to 2027-02-13")
    programme.complete("submit_evidence", VISITOR, evidence())
    assert programme.instance().status == "running" and programme.instance().incident is None


def test_an_agenda_that_fails_r_dur_is_refused_at_the_form(programme: Programme) -> None:  # noqa: F811
    programme.submit_visitor_application().assessed().matched()
    too_long = form_refused(programme, "agree_commitment", VISITOR, commitment(ARRIVAL, date(2027, 3, 20)))
    assert "departure: The stay from 2027-02-07 to 2027-03-20 is longer than 1 month" in too_long
    assert "[STAY_TOO_LONG]" in too_long
    past = form_refused(programme, "agree_commitment", VISITOR, commitment(date(2027, 1, 3), date(2027, 1, 9)))
    assert "arrival: 2027-01-03 is in the past" in past
    programme.committed(ARRIVAL, DEPARTURE)
    assert programme.exchange().status == "visit_planned"
