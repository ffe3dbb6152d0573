"""Partnerships and organisations (workflows/services/partnerships.py), on SQLite and PostgreSQL: a
partnership created and edited with its debtor account checked as a payment batch checks it; an
organisation looked up, deactivated with a reason (its records and history stay): it can then neither
apply nor be matched, until it is activated again. Only administrators change; refusals audited."""
from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from sqlalchemy import select

from tests.workflows.builders import ADMIN, AUDITOR, OFFICER, Programme, programme  # noqa: F401
from workflows.db.models import Application, Organisation, Partnership
from workflows.services import Conflict, Invalid, NotFound, Refused
from workflows.services.lifecycle import submit_application
from workflows.services.partnerships import (
    create_partnership,
    list_partnerships,
    search_organisations,
    set_organisation_active,
    update_partnership,
)

EAST = {"code": "cxp-east", "name": "ClusterXchange East", "country": "pl", "debtor_name": "Eastern Clusters",
        "debtor_iban": "PL61 1090 1014 0000 0712 1981 2874", "debtor_bic": None}


def test_a_partnership_is_created_and_edited_with_its_debtor_account_checked(programme: Programme) -> None:  # noqa: F811
    admin = programme.principal(ADMIN)
    east = create_partnership(programme.app, admin, EAST)
    assert (east.code, east.country, east.debtor_iban, east.calls) == ("CXP-EAST", "PL", "PL61109010140000071219812874", [])
    changed = update_partnership(programme.app, admin, "CXP-EAST", {"debtor_bic": "BPKOPLPW", "name": "CX East"})
    assert (changed.debtor_bic, changed.name) == ("BPKOPLPW", "CX East")
    [created] = programme.events("partnership_created")
    [updated] = programme.events("partnership_updated")
    assert created.actor == ADMIN and updated.data_before == {"debtor_bic": None, "name": "ClusterXchange East"}
    listed = {p.code: p for p in list_partnerships(programme.app, programme.principal(AUDITOR))}
    assert listed["CXP-NORTH"].officers == 2 and listed["CXP-NORTH"].finance_users == 1
    assert listed["CXP-NORTH"].calls == ["CXP-TEST-01"]


@pytest.mark.parametrize(("changes", "field", "message"), [
    ({"debtor_iban": "PL61 1090 1014 0000 0712 1981 2875"}, "debtor_iban", "wrong check digits"),
    ({"debtor_iban": "XX00"}, "debtor_iban", ""),
    ({"debtor_bic": "NOTABIC!"}, "debtor_bic", ""),
    ({"country": "XX"}, "country", "'XX' is not an ISO 3166-1 country code"),
    ({"code": "CXP-NORTH"}, "code", "CXP-NORTH is already the code of a partnership"),
    ({"debtor_name": "☺☺"}, "debtor_name", "has no letter or digit"),
    ({"name": ""}, "name", "at least 2 characters"),
])
def test_a_wrong_account_or_field_is_named_and_nothing_is_written(programme: Programme, changes: dict[str, Any],  # noqa: F811
                                                                 field: str, message: str) -> None:
    with pytest.raises(Invalid) as raised:
        create_partnership(programme.app, programme.principal(ADMIN), {**EAST, **changes})
    named = {f.field: f.msg for f in raised.value.fields}
    assert field in named and message.lower() in named[field].lower(), named
    with programme.app.uow() as uow:
        assert sorted(uow.session.scalars(select(Partnership.code))) == ["CXP-NORTH", "CXP-SOUTH"]


def test_only_an_administrator_changes_a_partnership(programme: Programme) -> None:  # noqa: F811
    with pytest.raises(Refused):
        create_partnership(programme.app, programme.principal(OFFICER), EAST)
    with pytest.raises(Refused):
        update_partnership(programme.app, programme.principal(AUDITOR), "CXP-NORTH", {"name": "N"})
    with pytest.raises(NotFound, match="no partnership 'CXP-MOON'"):
        update_partnership(programme.app, programme.principal(ADMIN), "CXP-MOON", {"name": "Moon"})
    with pytest.raises(Refused):
        list_partnerships(programme.app, programme.principal(OFFICER))
    assert [e.actor for e in programme.events("admin_change_refused")] == [OFFICER, AUDITOR]


def test_organisations_are_looked_up_by_name_id_or_city_and_paged(programme: Programme) -> None:  # noqa: F811
    auditor = programme.principal(AUDITOR)
    assert [o.legal_name for o in search_organisations(programme.app, auditor, "cluster").items] == [
        "Helix Cluster Vienna", "Nova Cluster Brussels", "Orbit Cluster Ghent"]
    assert [o.city for o in search_organisations(programme.app, auditor, "GHENT").items] == ["Ghent"]
    assert [o.legal_id for o in search_organisations(programme.app, auditor, "AT1000").items] == ["AT100000002"]
    page = search_organisations(programme.app, auditor, "", page=2, page_size=2)
    assert (page.total, [o.legal_name for o in page.items]) == (3, ["Orbit Cluster Ghent"])
    assert search_organisations(programme.app, auditor, "100%").items == []         # a wildcard matches itself
    assert search_organisations(programme.app, auditor, country="be").total == 2
    with pytest.raises(Invalid, match="^page_size: must be 1 to 200"):
        search_organisations(programme.app, auditor, page_size=500)


def _apply(prog: Programme, organisation_id: int) -> None:
    with prog.app.uow() as uow:
        application = Application(call_id=prog.call_id, organisation_id=organisation_id, partnership_id=prog.north_id,
                                  role="visitor", date_from=date(2027, 2, 1), date_to=date(2027, 3, 1),
                                  sectors=["digital"], wished_countries=["AT"], declaration_given=True,
                                  audit_rights_accepted=True, submitted_at=uow.now())
        uow.session.add(application)
        uow.session.flush()
        submit_application(prog.app, uow, application)
        uow.commit()


def test_a_deactivated_organisation_keeps_its_history_but_can_neither_apply_nor_be_matched(programme: Programme) -> None:  # noqa: F811
    from workflows.programme import Programme as Records

    admin = programme.principal(ADMIN)
    programme.submit_visitor_application().assessed()                       # the visitor waits for a match
    with pytest.raises(Invalid, match="^reason: to deactivate an organisation needs a reason"):
        set_organisation_active(programme.app, admin, "BE100000003", False, "")
    out = set_organisation_active(programme.app, admin, "BE100000003", False, "Dissolved in 2027.")
    assert (out.active, out.deactivated_reason) == (False, "Dissolved in 2027.")
    with pytest.raises(Invalid, match=r"^organisation: Orbit Cluster Ghent \(BE100000003\) is deactivated and cannot "
                                      r"apply: Dissolved in 2027.$"):
        _apply(programme, programme.outsider_org_id)
    with programme.app.uow() as uow:
        assert uow.session.scalars(select(Application).where(
            Application.organisation_id == programme.outsider_org_id)).all() == []
    set_organisation_active(programme.app, admin, "BE100000001", False, "Under investigation.")  # the waiting visitor
    set_organisation_active(programme.app, admin, "AT100000002", False, "Merged.")                # the host
    with programme.app.uow() as uow:
        visitors, hosts, _ = Records(uow.session, uow.now(), None).matching_pool(programme.call_id)
    assert (visitors, hosts) == ([], [])
    with pytest.raises(Conflict, match="is deactivated already"):
        set_organisation_active(programme.app, admin, "AT100000002", False, "again")
    back = set_organisation_active(programme.app, admin, "BE100000001", True, "Cleared.")
    assert back.active and back.deactivated_reason is None and back.applications == 1 and back.exchanges == 1
    with programme.app.uow() as uow:
        visitors, _, _ = Records(uow.session, uow.now(), None).matching_pool(programme.call_id)
        assert [v.org.id for v in visitors] == [programme.visitor_org_id]
        assert uow.session.get(Organisation, programme.host_org_id).deactivated_reason == "Merged."
    actions = [(e.action, e.subject) for e in programme.events() if e.action.startswith("organisation_")]
    assert actions == [("organisation_deactivated", "organisation:BE100000003"),
                       ("organisation_deactivated", "organisation:BE100000001"),
                       ("organisation_deactivated", "organisation:AT100000002"),
                       ("organisation_activated", "organisation:BE100000001")]
    with pytest.raises(Refused):
        set_organisation_active(programme.app, programme.principal(OFFICER), "BE100000001", False, "x")
