"""The Commitment to Quality (issue 20, point 3): the three activities as form fields with their
dates, the Commitment's text shown to every signer, and the two partnership signatures given by two
different people (R-4EYES, refused in words)."""
from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from tests.web.test_pages_work import post, programme, sign_in, web  # noqa: F401
from tests.workflows.builders import ADMIN, HOST, OFFICER, VISITOR, Programme, commitment, signature
from workflows.services import Refused

ROWS = {"activity-1-kind": "joint_learning_event", "activity-1-title": "Digital twins training",
        "activity-1-on": "2027-02-08", "activity-2-kind": "matchmaking", "activity-2-title": "B2B meetings",
        "activity-2-on": "2027-02-09", "activity-3-kind": "study_visit", "activity-3-title": "Pilot lines",
        "activity-3-on": "2027-02-10"}
DATES = {"arrival": "2027-02-07", "departure": "2027-02-13", "agenda": "Three days of activities."}


def test_the_visitor_gives_the_three_activities_with_their_dates_as_fields(
        web: TestClient, programme: Programme) -> None:  # noqa: F811
    programme.submit_visitor_application().assessed().matched()
    task = programme.open_task("agree_commitment")
    page = sign_in(web, VISITOR).get(f"/tasks/{task.id}")
    assert 'name="activity-3-on"' in page.text and 'type="date"' in page.text
    assert 'name="activities"' not in page.text  # no JSON box
    untitled = post(web, f"/tasks/{task.id}", {**DATES, **ROWS, "activity-2-title": " "}, f"/tasks/{task.id}")
    assert untitled.status_code == 422 and 'id="activity-2-title-error"' in untitled.text
    assert 'value="Pilot lines"' in untitled.text  # what was typed is kept
    done = post(web, f"/tasks/{task.id}", {**DATES, **ROWS}, f"/tasks/{task.id}")
    assert done.status_code == 303, done.text[:500]
    agreed = programme.exchange().agenda["activities"]
    assert [(a["kind"], a["on"]) for a in agreed] == [
        ("joint_learning_event", "2027-02-08"), ("matchmaking", "2027-02-09"), ("study_visit", "2027-02-10")]


def test_every_signer_reads_the_commitment_and_the_agreed_activities(web: TestClient, programme: Programme) -> None:  # noqa: F811
    programme.submit_visitor_application().assessed().matched()
    programme.complete("agree_commitment", VISITOR, commitment())
    programme.complete("sign_commitment_visitor", VISITOR, signature("Vera Visitor"))
    task = programme.open_task("sign_commitment_host")
    page = sign_in(web, HOST).get(f"/tasks/{task.id}")
    assert "The Commitment to Quality" in page.text and "certifies the days they attended" in page.text
    assert "Digital transformation training" in page.text
    assert "Signed so far: Vera Visitor (visitor) for the visiting organisation" in page.text


def test_the_two_partnership_signatures_come_from_two_different_people(programme: Programme) -> None:  # noqa: F811
    """When both organisations belong to one partnership (here the host's signature task is moved to the
    visitor's partnership), one officer may not give both partnership signatures. Administrators no
    longer sign for a partnership at all (issue 18.5)."""
    from sqlalchemy import update

    from workflows.db.process_models import HumanTask

    programme.submit_visitor_application().assessed().matched()
    programme.complete("agree_commitment", VISITOR, commitment())
    programme.complete("sign_commitment_visitor", VISITOR, signature("Vera Visitor"))
    programme.complete("sign_commitment_host", HOST, signature("Hans Host"))
    programme.complete("sign_commitment_visitor_officer", OFFICER, signature("Olga Officer"))
    host_officer_task = programme.open_task("sign_commitment_host_officer")
    with programme.app.uow() as uow:
        uow.session.execute(update(HumanTask).where(HumanTask.id == host_officer_task.id)
                            .values(partnership_id=programme.north_id))
        uow.commit()
    with pytest.raises(Refused, match="two partnership signatures must come from two different officers"):
        programme.complete("sign_commitment_host_officer", OFFICER, signature("Olga Officer"))
    assert programme.events("task_refused")[-1].actor == OFFICER
    with pytest.raises(Refused, match="belongs to the Officer lane"):
        programme.complete("sign_commitment_host_officer", ADMIN, signature("Sam Admin"))
