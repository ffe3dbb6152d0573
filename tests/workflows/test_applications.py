"""Applications in the product (SPEC §13) on SQLite and PostgreSQL: a draft kept, changed and sent; a
submission starts the same process as an import and answers with its eligibility in words; bad input
names its field and writes nothing; an applicant sees only its own organisation's; a withdrawal ends
the process."""
from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from sqlalchemy import func, select

from tests.workflows.builders import (  # noqa: F401 - the fixture
    HOST,
    OFFICER,
    OUTSIDER,
    SOUTH_OFFICER,
    VISITOR,
    Programme,
    as_user,
    programme,
)
from workflows.db.models import Application, Exchange, Organisation
from workflows.db.process_models import AuditEvent, OutboxMessage, ProcessInstance
from workflows.services import Invalid, NotFound, Refused, ServiceError
from workflows.services.application_inputs import ApplicationIn, ApplicationPatch
from workflows.services.applications import (
    create_application,
    get_application,
    list_applications,
    submit_draft,
    update_draft,
    withdraw_application,
)
from workflows.services.my_pages import where_to_act


def visitor_form(**changes: Any) -> ApplicationIn:
    data: dict[str, Any] = {
        "call": "CXP-TEST-01", "role": "visitor", "format": "exchange_visit", "date_from": "2027-02-01",
        "date_to": "2027-03-01", "sectors": ["digital"], "wished_countries": ["at"],
        "motivation": "We want to learn from peers abroad.", "declaration_given": True,
        "audit_rights_accepted": True, **changes}
    return ApplicationIn.model_validate(data)


def host_form(**changes: Any) -> ApplicationIn:
    data: dict[str, Any] = {
        "call": "CXP-TEST-01", "role": "host", "date_from": "2027-02-01", "date_to": "2027-04-30",
        "sectors": ["digital"], "capacity": 2, "topics": ["pilot lines"],
        "activities_offered": ["study_visit", "matchmaking"], "declaration_given": True,
        "audit_rights_accepted": True, **changes}
    return ApplicationIn.model_validate(data)


def counts(prog: Programme) -> tuple[int, int, int]:
    with prog.app.uow() as uow:
        s = uow.session
        return (int(s.scalar(select(func.count(Application.id))) or 0),
                int(s.scalar(select(func.count(Exchange.id))) or 0),
                int(s.scalar(select(func.count(ProcessInstance.id))) or 0))


def test_a_visitor_submission_starts_the_exchange_process_and_answers_eligible(programme: Programme) -> None:  # noqa: F811
    out = create_application(programme.app, as_user(programme.app, VISITOR), visitor_form())
    assert out.status == "eligible" and out.eligibility.eligible is True and out.eligibility.reasons == []
    assert "assesses" in out.eligibility.summary and out.exchange and out.wished_countries == ["AT"]
    with programme.app.uow() as uow:
        exchange = uow.session.scalars(select(Exchange).where(Exchange.visitor_application_id == out.id)).one()
        assert exchange.status == "eligible"
        instance = uow.session.scalars(select(ProcessInstance).where(
            ProcessInstance.subject_type == "exchange", ProcessInstance.subject_id == exchange.id)).one()
        assert instance.process_id == "exchange"
        mail = uow.session.scalars(select(OutboxMessage).where(OutboxMessage.template == "application_received")).one()
        assert mail.recipients == ["contact@nova.example"]
        assert mail.context["link"].endswith(f"/my/applications/{out.id}") and "assesses" in mail.context["next_step"]


def test_an_ineligible_visitor_sees_every_reason_in_words_with_what_to_do(programme: Programme) -> None:  # noqa: F811
    with programme.app.uow() as uow:
        org = uow.session.get(Organisation, programme.visitor_org_id)
        org.org_type, org.cluster_member = "sme", False
        uow.commit()
    out = create_application(programme.app, as_user(programme.app, VISITOR), visitor_form())
    assert out.status == "ineligible" and out.eligibility.eligible is False
    reason = out.eligibility.reasons[0]
    assert reason.code == "SME_NOT_CLUSTER_MEMBER" and "cluster" in reason.text and "Join a cluster" in reason.action
    with programme.app.uow() as uow:
        templates = {m.template: m.context for m in uow.session.scalars(select(OutboxMessage))}
        assert "application_ineligible" in templates and "application_received" not in templates
        link = templates["application_ineligible"]["portal_path"]
    assert link == f"/my/act?subject={out.exchange}"                         # no task waits: the exchange on /my
    assert where_to_act(programme.app, as_user(programme.app, VISITOR), str(out.exchange)) == f"/my#ex-{out.exchange}"


def test_a_draft_is_kept_changed_then_sent(programme: Programme) -> None:  # noqa: F811
    visitor = as_user(programme.app, VISITOR)
    before = counts(programme)
    draft = create_application(programme.app, visitor, visitor_form(submit=False, motivation="",
                                                                     declaration_given=False))
    assert (draft.status, draft.may_edit, draft.eligibility.eligible, draft.exchange) == ("draft", True, None, None)
    assert counts(programme)[1:] == before[1:]                    # no exchange, no process for a draft
    with pytest.raises(Invalid) as refused:
        submit_draft(programme.app, visitor, draft.id)
    assert {f.field for f in refused.value.fields} == {"motivation", "declaration_given"}
    changed = update_draft(programme.app, visitor, draft.id,
                           ApplicationPatch(motivation="Peers in Vienna.", declaration_given=True))
    assert changed.motivation == "Peers in Vienna." and changed.date_from == date(2027, 2, 1)
    sent = submit_draft(programme.app, visitor, draft.id)
    assert sent.status == "eligible" and sent.exchange is not None and not sent.may_edit
    with pytest.raises(ServiceError, match="only a draft changes"):
        update_draft(programme.app, visitor, draft.id, ApplicationPatch(motivation="again"))


@pytest.mark.parametrize(("changes", "field", "words"), [
    ({"date_from": "2027-01-04", "date_to": "2027-01-20"}, "date_from", "in the past"),
    ({"date_from": "2029-01-04", "date_to": "2029-05-20"}, "date_to", "last day for visits"),
    ({"format": "conference_fair"}, "format", "does not allow conference_fair"),
    ({"call": "CXP-NOPE"}, "call", "not a published call"),
    ({"declaration_given": False}, "declaration_given", "declaration on honour"),
    ({"audit_rights_accepted": False}, "audit_rights_accepted", "audit rights"),
])
def test_bad_input_names_its_field_and_writes_nothing(programme: Programme, changes: dict[str, Any],  # noqa: F811
                                                       field: str, words: str) -> None:
    before = counts(programme)
    with pytest.raises(Invalid) as refused:
        create_application(programme.app, as_user(programme.app, VISITOR), visitor_form(**changes))
    assert any(f.field == field and words in f.msg for f in refused.value.fields), refused.value.fields
    assert counts(programme) == before


def test_a_second_live_visitor_application_is_refused_beside_the_role(programme: Programme) -> None:  # noqa: F811
    visitor = as_user(programme.app, VISITOR)
    first = create_application(programme.app, visitor, visitor_form())
    before = counts(programme)
    with pytest.raises(Invalid) as refused:
        create_application(programme.app, visitor, visitor_form())
    assert refused.value.fields[0].field == "role" and first.exchange in refused.value.fields[0].msg
    assert counts(programme) == before
    withdrawn = withdraw_application(programme.app, visitor, first.id, "Plans changed.")
    assert withdrawn.status == "withdrawn" and not withdrawn.may_withdraw
    assert create_application(programme.app, visitor, visitor_form()).status == "eligible"  # its place is free


def test_a_withdrawal_ends_the_process_and_is_audited(programme: Programme) -> None:  # noqa: F811
    visitor = as_user(programme.app, VISITOR)
    out = create_application(programme.app, visitor, visitor_form())
    withdraw_application(programme.app, visitor, out.id, "")
    with programme.app.uow() as uow:
        exchange = uow.session.scalars(select(Exchange).where(Exchange.visitor_application_id == out.id)).one()
        instance = uow.session.scalars(select(ProcessInstance).where(
            ProcessInstance.subject_type == "exchange", ProcessInstance.subject_id == exchange.id)).one()
        assert (instance.status, exchange.status) == ("completed", "withdrawn")
        assert uow.session.scalars(select(AuditEvent).where(AuditEvent.action == "application_withdrawn")).one()
    with pytest.raises(ServiceError, match="is withdrawn"):
        withdraw_application(programme.app, visitor, out.id, "")


def test_a_host_offer_starts_the_hosting_process(programme: Programme) -> None:  # noqa: F811
    out = create_application(programme.app, as_user(programme.app, OUTSIDER), host_form())
    assert out.role == "host" and out.status == "eligible" and out.exchange is None
    assert "approves the offer" in out.eligibility.summary
    with pytest.raises(Invalid) as refused:
        create_application(programme.app, as_user(programme.app, OUTSIDER), host_form(capacity=0,
                                                                                        activities_offered=[]))
    assert {f.field for f in refused.value.fields} == {"capacity", "activities_offered"}


def test_an_applicant_sees_only_its_organisation_and_others_may_not_apply(programme: Programme) -> None:  # noqa: F811
    out = create_application(programme.app, as_user(programme.app, VISITOR), visitor_form())
    assert [a.id for a in list_applications(programme.app, as_user(programme.app, VISITOR))] == [out.id]
    assert out.id not in [a.id for a in list_applications(programme.app, as_user(programme.app, HOST))]
    for who in (HOST, OUTSIDER, SOUTH_OFFICER):
        with pytest.raises(NotFound, match=f"application {out.id} does not exist"):
            get_application(programme.app, as_user(programme.app, who), out.id)
    assert get_application(programme.app, as_user(programme.app, OFFICER), out.id).id == out.id
    before = counts(programme)
    with pytest.raises(Refused, match="only a user of an organisation applies"):
        create_application(programme.app, as_user(programme.app, OFFICER), visitor_form())
    with pytest.raises(NotFound):
        withdraw_application(programme.app, as_user(programme.app, HOST), out.id, "not mine")
    assert counts(programme) == before
    with programme.app.uow() as uow:
        refusals = list(uow.session.scalars(select(AuditEvent).where(AuditEvent.action == "access_refused")))
        assert refusals and refusals[-1].actor == OFFICER


def test_a_deactivated_organisation_may_not_apply(programme: Programme) -> None:  # noqa: F811
    with programme.app.uow() as uow:
        org = uow.session.get(Organisation, programme.visitor_org_id)
        org.active, org.deactivated_reason = False, "Dissolved."
        uow.commit()
    with pytest.raises(Refused, match="deactivated and may not apply: Dissolved."):
        create_application(programme.app, as_user(programme.app, VISITOR), visitor_form())


def test_over_long_text_and_unknown_countries_are_refused_by_the_form() -> None:
    from pydantic import ValidationError

    with pytest.raises(ValidationError) as err:
        visitor_form(motivation="x" * 2001, wished_countries=["Atlantis"], date_to="2027-01-01")
    assert {e["loc"][0] for e in err.value.errors()} == {"motivation", "wished_countries", "date_to"}


def test_a_draft_may_be_prepared_for_a_call_not_yet_open_and_is_sent_once_it_opens(programme: Programme) -> None:  # noqa: F811
    from workflows.db.models import Call

    with programme.app.uow() as uow:
        call = uow.session.get(Call, programme.call_id)
        call.status, call.opens_on = "published", date(2027, 1, 20)
        uow.commit()
    visitor = as_user(programme.app, VISITOR)
    draft = create_application(programme.app, visitor, visitor_form(submit=False))
    assert draft.status == "draft"
    with pytest.raises(Invalid) as refused:
        submit_draft(programme.app, visitor, draft.id)
    assert refused.value.fields[0].field == "call" and "takes applications from 2027-01-20" in refused.value.fields[0].msg
