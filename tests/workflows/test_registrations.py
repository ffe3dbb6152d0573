"""Registration of an organisation in the product (SPEC §13) on SQLite and PostgreSQL: every field
checked like an import, nothing written on bad input; a one-use link valid 48 hours; the partnership's
officers assess it (approve, reject with a reason, ask for information) and each outcome is mailed;
only an approved organisation may apply; registrations are rate-limited per client address."""
from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from tests.wall_clock import WallClock
from tests.workflows.builders import OFFICER, SOUTH_OFFICER, Programme, as_user, programme  # noqa: F401
from tests.workflows.test_applications import visitor_form
from workflows.db.models import Organisation, User
from workflows.db.process_models import AuditEvent, HumanTask, OutboxMessage
from workflows.db.registration_models import Registration
from workflows.services import Invalid, NotFound, Refused, Throttled
from workflows.services.applications import create_application
from workflows.services.registration_inputs import parse_registration
from workflows.services.registrations import register, verify

BRUSSELS_ID, VIENNA_ID = 2800866, 2761369
PASSWORD = "a long enough password"


def form(**changes: Any) -> dict[str, Any]:
    return {"legal_name": "Tiber Cluster Leuven", "legal_id": "BE0999000111", "org_type": "cluster_organisation",
            "country": "BE", "subdivision": None, "city_id": BRUSSELS_ID, "sectors": ["digital"],
            "cluster_member": True, "contact_email": "contact@tiber.example", "partnership": "CXP-NORTH",
            "name": "Tina Tiber", "email": "tina@tiber.example", "username": "tina", "password": PASSWORD,
            **changes}


def token_of(prog: Programme, n: int = -1) -> str:
    mail = prog.emails("registration_verify")[n]
    found = re.search(r"token=([A-Za-z0-9_-]+)", mail.context["link"])
    assert found, mail.context
    return found.group(1)


def rows(prog: Programme) -> tuple[int, int, int, int]:
    with prog.app.uow() as uow:
        s = uow.session
        return (int(s.scalar(select(func.count(Organisation.id))) or 0), int(s.scalar(select(func.count(User.id))) or 0),
                int(s.scalar(select(func.count(Registration.id))) or 0),
                int(s.scalar(select(func.count(OutboxMessage.id))) or 0))


def registered(prog: Programme, **changes: Any) -> str:
    out = register(prog.app, parse_registration(form(**changes)), "198.51.100.7")
    assert out.status == "pending_verification"
    return out.username


def verified(prog: Programme, **changes: Any) -> int:
    registered(prog, **changes)
    verify(prog.app, token_of(prog))
    with prog.app.uow() as uow:
        return int(uow.session.scalars(select(HumanTask.instance_id).where(
            HumanTask.task_spec == "assess_registration", HumanTask.status == "open")).one())


def test_a_registration_creates_the_organisation_its_user_and_mails_a_link_valid_48_hours(programme: Programme) -> None:  # noqa: F811
    out = register(programme.app, parse_registration(form(username=None)), "198.51.100.7")
    assert out.model_dump() == {"organisation": "BE0999000111", "username": "tina", "status": "pending_verification"}
    with programme.app.uow() as uow:
        org = uow.session.scalars(select(Organisation).where(Organisation.legal_id == "BE0999000111")).one()
        assert (org.city, round(org.latitude, 2), round(org.longitude, 2)) == ("Brussels", 50.85, 4.35)
        assert org.registration_status == "pending_verification" and org.partnership_id == programme.north_id
        user = uow.session.scalars(select(User).where(User.username == "tina")).one()
        assert (user.role, user.organisation_id, user.password_hash is not None) == ("applicant", org.id, True)
        reg = uow.session.scalars(select(Registration)).one()
        token = token_of(programme)
        assert token not in (reg.token_sha256 or "") and len(reg.token_sha256 or "") == 64
        assert reg.token_expires_at - reg.created_at == timedelta(hours=48)
    mail = programme.emails("registration_verify")[0]
    assert mail.recipients == ["contact@tiber.example"] and mail.context["valid_hours"] == 48
    assert "/verify?token=" in mail.context["link"]
    assert token not in str([e.data_after for e in programme.events()])            # the secret is never audited


@pytest.mark.parametrize(("changes", "field", "words"), [
    ({"legal_id": "BE100000001"}, "legal_id", "already registered"),          # the visitor's organisation's
    ({"country": "XX"}, "country", "not an ISO 3166-1"),
    ({"subdivision": "ZZ"}, "subdivision", "not a subdivision of BE"),
    ({"city_id": VIENNA_ID}, "city_id", "Vienna is in AT, not in BE"),
    ({"password": "short"}, "password", "at least"),
    ({"partnership": "NOPE"}, "partnership", "no partnership"),
    ({"username": "visitor"}, "username", "is taken"),
    ({"contact_email": "not-an-address"}, "contact_email", "not an email address"),
])
def test_bad_input_names_its_field_and_writes_nothing(programme: Programme, changes: dict[str, Any], field: str,  # noqa: F811
                                                       words: str) -> None:
    before = rows(programme)
    with pytest.raises(Invalid) as refused:
        register(programme.app, parse_registration(form(**changes)), "198.51.100.7")
    assert any(f.field == field and words in f.msg for f in refused.value.fields), refused.value.fields
    assert rows(programme) == before


def test_markup_in_the_name_is_kept_as_typed_and_escaped_in_the_html_mail(programme: Programme) -> None:  # noqa: F811
    from workflows.mail import render_email

    registered(programme, legal_name="<script>alert(1)</script> Cluster")
    mail = programme.emails("registration_verify")[0]
    assert mail.context["organisation"] == "<script>alert(1)</script> Cluster"
    _, _, html = render_email(mail.template, mail.context)
    assert "<script>" not in html and "&lt;script&gt;" in html


def test_the_link_works_once_and_starts_the_assessment_in_the_partnerships_inbox(programme: Programme) -> None:  # noqa: F811
    registered(programme)
    token = token_of(programme)
    out = verify(programme.app, token)
    assert (out.status, out.username, out.partnership) == ("verified", "tina", "ClusterXchange North")
    with programme.app.uow() as uow:
        task = uow.session.scalars(select(HumanTask).where(HumanTask.task_spec == "assess_registration")).one()
        assert (task.role, task.partnership_id, task.status) == ("officer", programme.north_id, "open")
        assert task.due_at is not None and task.follow_up_at is not None            # chased like every task
    assert programme.emails("registration_received")[0].context["link"].endswith("/my")
    with pytest.raises(Invalid, match="used already"):
        verify(programme.app, token)
    with pytest.raises(Invalid, match="not one we sent"):
        verify(programme.app, "made-up")


def test_a_link_older_than_48_hours_is_refused_and_a_new_one_is_sent(programme: Programme) -> None:  # noqa: F811
    registered(programme)
    old = token_of(programme)
    programme.advance(timedelta(hours=48, minutes=1))
    with pytest.raises(Invalid, match="expired .* a new link was sent to contact@tiber.example"):
        verify(programme.app, old)
    new = token_of(programme)
    assert new != old and len(programme.emails("registration_verify")) == 2
    with pytest.raises(Invalid, match="not one we sent"):
        verify(programme.app, old)
    assert verify(programme.app, new).status == "verified"


def test_an_abandoned_registration_frees_its_legal_id_and_username_once_its_link_expired(programme: Programme) -> None:  # noqa: F811
    """A registration sent to a mistyped address is never verified: once its link expired, the same
    legal id and username may be registered again; the abandoned one is removed and audited."""
    registered(programme, contact_email="contact@tibre.example")  # the typo
    before = rows(programme)
    with pytest.raises(Invalid) as refused:  # within the 48 hours the first one still holds them
        registered(programme)
    assert {f.field for f in refused.value.fields} == {"legal_id", "username"}
    assert rows(programme) == before
    old = token_of(programme)

    programme.advance(timedelta(hours=48, minutes=1))
    assert registered(programme) == "tina"
    assert rows(programme)[:3] == before[:3]  # one organisation, user and registration: the new ones
    with programme.app.uow() as uow:
        org = uow.session.scalars(select(Organisation).where(Organisation.legal_id == "BE0999000111")).one()
        assert org.contact_email == "contact@tiber.example"
        event = uow.session.scalars(select(AuditEvent).where(AuditEvent.action == "registration_abandoned")).one()
        assert event.data_after["legal_name"] == "Tiber Cluster Leuven" and event.data_after["username"] == "tina"
    with pytest.raises(Invalid, match="not one we sent"):  # the abandoned link leads nowhere
        verify(programme.app, old)
    assert verify(programme.app, token_of(programme)).status == "verified"


def test_a_verified_registration_keeps_its_legal_id_however_long_it_waits(programme: Programme) -> None:  # noqa: F811
    verified(programme)
    programme.advance(timedelta(days=30))
    with pytest.raises(Invalid) as refused:
        registered(programme, username="tina2", email="tina2@tiber.example")
    assert [f.field for f in refused.value.fields] == ["legal_id"]


def test_an_unapproved_organisation_may_not_apply_and_is_told_why(programme: Programme) -> None:  # noqa: F811
    registered(programme)
    with pytest.raises(Refused, match="not verified yet"):
        create_application(programme.app, as_user(programme.app, "tina"), visitor_form())
    verify(programme.app, token_of(programme))
    with pytest.raises(Refused, match="waits for the partnership's assessment"):
        create_application(programme.app, as_user(programme.app, "tina"), visitor_form())
    assert programme.events("access_refused")[-1].data_after["registration"] == "verified"


def test_approved_the_organisation_applies_and_is_told_by_email(programme: Programme) -> None:  # noqa: F811
    instance = verified(programme)
    programme.complete("assess_registration", OFFICER, {"decision": "approve"}, instance_id=instance)
    mail = programme.emails("registration_approved")[0]
    assert mail.recipients == ["contact@tiber.example"] and mail.context["portal_path"] == "/my/applications/new"
    with programme.app.uow() as uow:
        reg = uow.session.scalars(select(Registration)).one()
        assert (reg.status, reg.decided_by) == ("approved", OFFICER)
    out = create_application(programme.app, as_user(programme.app, "tina"), visitor_form())
    assert out.status == "eligible"


def test_rejected_with_a_reason_the_applicant_reads_it_and_may_not_apply(programme: Programme) -> None:  # noqa: F811
    instance = verified(programme)
    from workflows.services.inbox import complete_task

    task = programme.open_task("assess_registration", instance)
    with pytest.raises(Invalid, match="reason: is required when rejecting"):
        complete_task(programme.app, task.id, programme.principal(OFFICER), {"decision": "reject"})
    programme.complete("assess_registration", OFFICER, {"decision": "reject", "reason": "Not a cluster."},
                       instance_id=instance)
    assert programme.emails("registration_rejected")[0].context["reason"] == "Not a cluster."
    with pytest.raises(Refused, match="rejected: Not a cluster."):
        create_application(programme.app, as_user(programme.app, "tina"), visitor_form())


def test_asked_for_information_the_applicant_answers_and_the_task_comes_back(programme: Programme) -> None:  # noqa: F811
    instance = verified(programme)
    programme.complete("assess_registration", OFFICER, {"decision": "request_info",
                                                        "question": "Which cluster are you a member of?"},
                       instance_id=instance)
    mail = programme.emails("registration_information_requested")[0]
    assert mail.context["question"] == "Which cluster are you a member of?"
    with pytest.raises(Refused, match="asked for information .*Which cluster"):
        create_application(programme.app, as_user(programme.app, "tina"), visitor_form())
    task = programme.open_task("answer_registration_question", instance)
    assert task.role == "applicant" and task.organisation_id is not None
    with pytest.raises(NotFound):                                 # another organisation's applicant sees nothing
        programme.complete("answer_registration_question", "visitor", {"information": "x"}, instance_id=instance)
    programme.complete("answer_registration_question", "tina", {"information": "Flanders Digital."},
                       instance_id=instance)
    assert programme.open_specs(instance) == ["assess_registration"]
    with programme.app.uow() as uow:
        reg = uow.session.scalars(select(Registration)).one()
        assert (reg.status, reg.answer) == ("verified", "Flanders Digital.")
    with pytest.raises(NotFound):                                 # another partnership's officer sees nothing
        programme.complete("assess_registration", SOUTH_OFFICER, {"decision": "approve"}, instance_id=instance)
    programme.complete("assess_registration", OFFICER, {"decision": "approve"}, instance_id=instance)
    assert programme.instance(instance).outcome == "end_approved"


def test_registrations_are_limited_per_client_address_per_hour(programme: Programme) -> None:  # noqa: F811
    programme.app.wall_clock = clock = WallClock()
    limit = programme.app.settings.registrations_per_hour
    for n in range(limit):
        register(programme.app, parse_registration(form(legal_id=f"BE09990001{n:02d}", username=f"u{n}")), "203.0.113.9")
    before = rows(programme)
    with pytest.raises(Throttled, match="too many registrations") as refused:
        register(programme.app, parse_registration(form(legal_id="BE0999000199", username="late")), "203.0.113.9")
    assert 0 < refused.value.retry_after <= 3600 and rows(programme) == before
    register(programme.app, parse_registration(form(legal_id="BE0999000198", username="other")), "203.0.113.10")
    clock.advance(hours=1)
    register(programme.app, parse_registration(form(legal_id="BE0999000199", username="late")), "203.0.113.9")
    with programme.app.uow() as uow:
        assert uow.session.scalar(select(func.count(AuditEvent.id)).where(
            AuditEvent.action == "registration_throttled")) == 1
    from workflows.db.registration_models import RequestCount
    from workflows.services.throttle import sweep_attempts

    def counted() -> int:
        with programme.app.uow() as uow:
            return int(uow.session.scalar(select(func.count()).select_from(RequestCount)) or 0)

    assert counted() == 2
    sweep_attempts(programme.app)
    assert counted() == 2                                         # their windows are recent
    clock.advance(days=2)
    sweep_attempts(programme.app)
    assert counted() == 0                                         # the table does not grow for ever


def test_the_demo_registers_two_organisations_through_the_front_door(programme: Programme) -> None:  # noqa: F811
    from workflows.demo.front_door import register_organisations

    assert register_organisations(programme.app) == ["aurora", "borealis"]
    assert register_organisations(programme.app) == []                      # once
    with programme.app.uow() as uow:
        statuses = dict(uow.session.execute(select(Organisation.legal_id, Organisation.registration_status).where(
            Organisation.legal_id.in_(("EE10000001", "PT500000001")))).all())
        waiting = uow.session.scalars(select(HumanTask.partnership_id).where(
            HumanTask.task_spec == "assess_registration", HumanTask.status == "open")).all()
    assert statuses == {"EE10000001": "approved", "PT500000001": "verified"} and waiting == [programme.south_id]
    assert create_application(programme.app, as_user(programme.app, "aurora"), visitor_form()).status == "eligible"


def test_the_officer_sees_what_was_registered_and_the_applicant_its_question(programme: Programme) -> None:  # noqa: F811
    from workflows.services.task_detail import task_detail

    instance = verified(programme)
    task = programme.open_task("assess_registration", instance)
    ctx = task_detail(programme.app, programme.principal(OFFICER), task.id).context
    assert ctx is not None and ctx.kind == "registration"
    assert (ctx.legal_id, ctx.city, ctx.country, ctx.contact_email) == ("BE0999000111", "Brussels", "BE",
                                                                        "contact@tiber.example")
    assert "tina" in ctx.user and ctx.verified_at is not None
    programme.complete("assess_registration", OFFICER, {"decision": "request_info", "question": "Which cluster?"},
                       instance_id=instance)
    answer = programme.open_task("answer_registration_question", instance)
    seen = task_detail(programme.app, programme.principal("tina"), answer.id)
    assert seen.can_act and seen.context is not None and seen.context.question == "Which cluster?"
