"""Rule-set versions (workflows/services/rule_sets.py), on SQLite and PostgreSQL: every version side by
side with the differing settings marked; a new version from a file or a JSON body, checked under the
programme's rules with each problem named, stored once by its content (the same values answer the
version that has them); a draft call picks a stored version, a published call keeps its own."""
from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from tests.workflows.builders import ADMIN, AUDITOR, OFFICER, VISITOR, Programme, programme  # noqa: F401
from tests.workflows.test_call_admin import new_call
from workflows.db.models import RuleSetRecord
from workflows.services import Conflict, Invalid, NotFound, Refused
from workflows.services.call_admin import create_call, publish_call, update_call
from workflows.services.rule_sets import add_rule_set, list_rule_sets

NEW = {"version": "2027.1", "base": "2026.1", "thresholds": {"PL": "850.00", "CZ": "820.00"},
       "officer_task_due_days": 8}


def _count(prog: Programme) -> int:
    with prog.app.uow() as uow:
        return int(uow.session.scalar(select(func.count()).select_from(RuleSetRecord)) or 0)


def test_every_version_is_listed_side_by_side_with_the_differences_marked(programme: Programme) -> None:  # noqa: F811
    out = list_rule_sets(programme.app, programme.principal(VISITOR))          # any signed-in person reads them
    assert {v.version for v in out.versions} == {"2025.1", "2026.1"}
    rows = {r.setting: r for r in out.rows}
    assert rows["thresholds.AT"].values == {"2025.1": "1000.00", "2026.1": "1100.00"} and rows["thresholds.AT"].differs
    assert rows["cap"].values == {"2025.1": "1100.00", "2026.1": "1100.00"} and not rows["cap"].differs
    assert rows["officer_task_due_days"].values["2026.1"] == "10"
    assert next(v for v in out.versions if v.version == "2026.1").calls == ["CXP-TEST-01"]


def test_a_new_version_from_a_file_is_checked_and_stored_once_by_content(programme: Programme) -> None:  # noqa: F811
    admin = programme.principal(ADMIN)
    added = add_rule_set(programme.app, admin, json.dumps(NEW).encode(), "Poland and Czechia priced higher")
    assert added.created and added.version.version == "2027.1" and added.version.created_by == ADMIN
    assert added.version.values["thresholds"]["PL"] == "850.00" and added.version.values["officer_task_due_days"] == 8
    assert added.version.values["thresholds"]["AT"] == "1100.00"                # from its base
    again = add_rule_set(programme.app, admin, {**NEW, "version": "2027.1-copy"})  # the same values, another name
    assert not again.created and again.version.version == "2027.1" and _count(programme) == 3
    with pytest.raises(Conflict, match="rule set 2027.1 exists already with other values"):
        add_rule_set(programme.app, admin, {**NEW, "officer_task_due_days": 9})
    [event] = programme.events("rule_set_added")
    assert event.actor == ADMIN and event.data_after["note"] == "Poland and Czechia priced higher"
    compared = list_rule_sets(programme.app, admin, ["2026.1", "2027.1"])
    differing = sorted(r.setting for r in compared.rows if r.differs)
    assert differing == ["officer_task_due_days", "thresholds.CZ", "thresholds.PL"]


@pytest.mark.parametrize(("document", "field", "message"), [
    ({**NEW, "cap": "1200.00"}, "cap", "EUR 1200.00 is above the programme's cap of EUR 1100.00"),
    ({**NEW, "thresholds": {"AT": "1150.00"}}, "thresholds.AT", "EUR 1150.00 is above the rule set's cap"),
    ({**NEW, "thresholds": {"CH": "900.00"}}, "thresholds.CH", "CH is priced but is not an eligible country"),
    ({"version": "2027.2", "default_threshold": "0.00", "thresholds": {"AT": "900.00"}},
     "eligible_countries", "AL, AM, BA, BE, BG"),
    ({**NEW, "thresholds": {"XX": "900.00"}}, "thresholds", "'XX' is not an ISO 3166-1 country code"),
    ({**NEW, "task_follow_up_days": 12}, "task_follow_up_days", "the follow-up must come before the tasks are due"),
    ({**NEW, "colour": "blue"}, "colour", "is not a rule-set setting"),
    ({**NEW, "version": ""}, "version", "a new rule set needs a version name"),
    ({**NEW, "version": "2027/1"}, "version", "use at most 40 letters, digits"),
    ({**NEW, "base": "1999.1"}, "base", "'1999.1' is no stored rule set version"),
])
def test_a_version_that_breaks_a_rule_is_refused_naming_it(programme: Programme, document: dict, field: str,  # noqa: F811
                                                          message: str) -> None:
    with pytest.raises(Invalid) as raised:
        add_rule_set(programme.app, programme.principal(ADMIN), document)
    named = {f.field: f.msg for f in raised.value.fields}
    assert field in named and message in named[field], named
    assert _count(programme) == 2


@pytest.mark.parametrize(("content", "message"), [
    (b"{not json", "file: is not valid JSON"), (b"\xff\xfe", "file: is not UTF-8 text"),
    (b"[1, 2]", "file: must hold one JSON object"), (b"{}", "version: a new rule set needs a version name"),
])
def test_a_file_that_is_no_rule_set_is_refused(programme: Programme, content: bytes, message: str) -> None:  # noqa: F811
    with pytest.raises(Invalid, match=f"^{message}"):
        add_rule_set(programme.app, programme.principal(ADMIN), content)


def test_only_an_administrator_adds_a_version_and_an_unknown_one_cannot_be_compared(programme: Programme) -> None:  # noqa: F811
    for user in (OFFICER, AUDITOR):
        with pytest.raises(Refused, match="may not add a rule set version"):
            add_rule_set(programme.app, programme.principal(user), NEW)
    assert [e.actor for e in programme.events("admin_change_refused")] == [OFFICER, AUDITOR]
    with pytest.raises(NotFound, match="compare: no rule set version '3000.1'"):
        list_rule_sets(programme.app, programme.principal(ADMIN), ["2026.1", "3000.1"])


def test_a_draft_picks_a_version_and_a_published_call_keeps_its_own(programme: Programme) -> None:  # noqa: F811
    admin = programme.principal(ADMIN)
    add_rule_set(programme.app, admin, NEW)
    create_call(programme.app, admin, new_call())
    picked = update_call(programme.app, admin, "CXP-2027-09", {"rule_set_version": "2027.1"})
    assert picked.call.rule_set_version == "2027.1"
    publish_call(programme.app, admin, "CXP-2027-09")
    add_rule_set(programme.app, admin, {**NEW, "version": "2027.2", "officer_task_due_days": 7})
    with pytest.raises(Conflict):
        update_call(programme.app, admin, "CXP-2027-09", {"rule_set_version": "2027.2"})
    versions = {v.version: v.calls for v in list_rule_sets(programme.app, admin).versions}
    assert versions["2027.1"] == ["CXP-2027-09"] and versions["2027.2"] == []


def test_a_rule_set_is_read_once_per_database_and_never_taken_from_another(tmp_path) -> None:  # noqa: ANN001
    """The engine's steps keep each version they read (a version never changes), per database: two
    databases with the same version name under other values each answer their own."""
    from workflows.app import App
    from workflows.programme import Programme as Records
    from workflows.services.setup import init_database
    from workflows.settings import Settings

    apps = [App(Settings(database_url=f"sqlite:///{tmp_path}/{name}.db", files_dir=tmp_path / name))
            for name in ("one", "two")]
    try:
        for app in apps:
            init_database(app)
        with apps[1].uow() as uow:  # the second database holds other values under the same name
            row = uow.session.get(RuleSetRecord, "2026.1")
            row.data = {**row.data, "cap": "900.00"}
            uow.commit()
        caps = []
        for app in apps * 2:  # read twice each: the second read comes from what the first kept
            with app.uow() as uow:
                caps.append(str(Records(uow.session, uow.now(), None).rule_set("2026.1").cap))
        assert caps == ["1100.00", "900.00", "1100.00", "900.00"]
        with apps[0].uow() as uow:
            with pytest.raises(LookupError, match="rule set 1999.1 is not loaded"):
                Records(uow.session, uow.now(), None).rule_set("1999.1")
    finally:
        for app in apps:
            app.close()
