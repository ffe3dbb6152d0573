"""Matching review a person can use (issue 20, point 2): the proposed pairs with their scores and the
reasons in words, overrides chosen from lists of the call's host offers with their places left, and a
refused override shown with its reasons on the page (422, nothing done), not "done"."""
from __future__ import annotations

from datetime import date, datetime

import pytest
from starlette.testclient import TestClient

from tests.web.test_pages_work import post, programme, sign_in, web  # noqa: F401
from tests.workflows.builders import ADMIN, BRUSSELS, OFFICER, Programme
from workflows.db.models import Application


def review_round(programme: Programme) -> int:  # noqa: F811
    """The call's process at its review_proposals task (one pair: Brussels → Vienna), and a published
    host offer of the Ghent organisation (the same country as the visitor); the task's id."""
    from workflows.services.lifecycle import start

    programme.submit_visitor_application().assessed()
    with programme.app.uow() as uow:
        uow.session.add(Application(
            call_id=programme.call_id, organisation_id=programme.outsider_org_id, partnership_id=programme.north_id,
            role="host", format="exchange_visit", date_from=date(2027, 1, 25), date_to=date(2027, 4, 30),
            sectors=["digital"], capacity=1, topics=["digital"], activities_offered=["matchmaking"],
            motivation="We host too.", declaration_given=True, audit_rights_accepted=True, status="published",
            submitted_at=uow.now()))
        call_instance = start(programme.app, uow, "call", "call", programme.call_id, {
            "call_id": programme.call_id, "partnership_id": programme.north_id, "subject_ref": "CXP-TEST-01"}).id
        uow.commit()
    programme.complete("prepare_call", ADMIN, {"confirm": True}, instance_id=call_instance)
    programme.advance_to(datetime(2027, 3, 6, 10, 0, tzinfo=BRUSSELS))
    programme.call_instance = call_instance  # type: ignore[attr-defined]
    return programme.open_task("review_proposals", call_instance).id


def ghent_offer(programme: Programme) -> int:  # noqa: F811
    from sqlalchemy import select

    with programme.app.uow() as uow:
        return uow.session.scalars(select(Application.id).where(
            Application.organisation_id == programme.outsider_org_id, Application.role == "host")).one()


def test_the_review_shows_each_pair_with_its_reasons_and_the_hosts_with_places_left(
        web: TestClient, programme: Programme) -> None:  # noqa: F811
    task_id = review_round(programme)
    page = sign_in(web, OFFICER).get(f"/tasks/{task_id}")
    assert page.status_code == 200
    assert "Sectors in common: digital" in page.text and "Dates overlap" in page.text
    assert "Orbit Cluster Ghent (BE) — 1 place left" in page.text
    assert 'name="drop_proposals"' not in page.text and 'name="reassign"' not in page.text  # no JSON, no ids typed
    assert f'name="host-{programme.exchange().visitor_application_id}"' in page.text


def test_a_refused_override_is_shown_with_its_reasons_and_nothing_is_done(
        web: TestClient, programme: Programme) -> None:  # noqa: F811
    task_id = review_round(programme)
    visitor = programme.exchange().visitor_application_id
    sign_in(web, OFFICER)
    answer = post(web, f"/tasks/{task_id}", {"confirm": "on", f"host-{visitor}": str(ghent_offer(programme))},
                  f"/tasks/{task_id}")
    assert answer.status_code == 422
    assert "Not done, a change of host was refused" in answer.text
    assert ("item 1: Nova Cluster Brussels cannot go to Orbit Cluster Ghent: visitor and host are in the same "
            "country; an exchange must cross a border") in answer.text
    assert programme.open_specs(programme.call_instance) == ["review_proposals"]  # type: ignore[attr-defined]
    [attempt] = programme.events("match_override_refused")  # the attempt is kept, with its reasons
    assert [r["code"] for r in attempt.data_after["reasons"]] == ["SAME_COUNTRY"] and attempt.actor == OFFICER
    assert programme.events("match_overridden") == []


def test_dropping_a_pair_by_ticking_it_completes_the_review(web: TestClient, programme: Programme) -> None:  # noqa: F811
    task_id = review_round(programme)
    page = sign_in(web, OFFICER).get(f"/tasks/{task_id}")
    import re

    proposal_id = re.search(r'name="drop" value="(\d+)"', page.text)[1]
    answer = post(web, f"/tasks/{task_id}", {"confirm": "on", "drop": proposal_id}, f"/tasks/{task_id}")
    assert answer.status_code == 303
    completed = [e for e in programme.events("task_completed") if e.task == "review_proposals"]
    assert completed[-1].data_after["form"]["drop_proposals"] == [int(proposal_id)]


@pytest.mark.parametrize("bad", ["999999"])
def test_an_offer_that_is_no_host_of_the_call_is_named(web: TestClient, programme: Programme, bad: str) -> None:  # noqa: F811
    task_id = review_round(programme)
    visitor = programme.exchange().visitor_application_id
    sign_in(web, OFFICER)
    answer = post(web, f"/tasks/{task_id}", {"confirm": "on", f"host-{visitor}": bad}, f"/tasks/{task_id}")
    assert answer.status_code == 422 and "there is no published host offer with this id in the call" in answer.text
