"""Set-up and process versions: `init` can run again, each BPMN version is stored once by its hash, and a
running instance keeps the version it started with when a changed BPMN is deployed."""
from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

from sqlalchemy import func, select

from tests.workflows.builders import HOST, VISITOR, Programme, accept_match, programme  # noqa: F401
from workflows.app import App
from workflows.db.models import RuleSetRecord
from workflows.db.process_models import AuditEvent, ProcessDefinition, ProcessInstance
from workflows.engine.library import BPMN_DIR, ProcessLibrary
from workflows.services.access import SYSTEM
from workflows.services.setup import init_database
from workflows.services.views import instance_view

OLD_LABEL = 'name="Accept or decline the match"'
NEW_LABEL = 'name="Answer the match proposal"'


def counts(app: App) -> dict[str, int]:
    with app.uow() as uow:
        return {model.__tablename__: uow.session.scalar(select(func.count()).select_from(model))
                for model in (RuleSetRecord, ProcessDefinition, AuditEvent)}


def test_init_can_run_again_even_from_another_app_and_changes_nothing(app: App) -> None:
    before = counts(app)
    again = init_database(app)
    assert again["rule_sets_loaded"] == [] and again["processes_deployed"] == []
    other = App(app.settings)  # a fresh process library: only the stored hashes can tell
    try:
        assert init_database(other)["processes_deployed"] == []
    finally:
        other.close()
    assert counts(app) == before


def test_each_bpmn_file_is_stored_once_with_the_hash_of_its_bytes(app: App) -> None:
    with app.uow() as uow:
        rows = [(r.process_id, r.version, r.filename, r.sha256, r.bpmn_xml) for r in uow.session.scalars(
            select(ProcessDefinition).order_by(ProcessDefinition.process_id))]
    assert [row[:3] for row in rows] == [
        ("call", 1, "call.bpmn"), ("exchange", 1, "exchange.bpmn"), ("hosting", 1, "hosting.bpmn"),
        ("registration", 1, "registration.bpmn")]
    for _process, _version, filename, sha256, xml in rows:
        data = (BPMN_DIR / filename).read_bytes()
        assert sha256 == hashlib.sha256(data).hexdigest()
        assert xml == data.decode("utf-8")


def changed_bpmn(tmp_path: Path) -> Path:
    folder = tmp_path / "bpmn-v2"
    shutil.copytree(BPMN_DIR, folder)
    exchange = folder / "exchange.bpmn"
    text = exchange.read_text(encoding="utf-8")
    assert text.count(OLD_LABEL) == 1
    exchange.write_text(text.replace(OLD_LABEL, NEW_LABEL), encoding="utf-8")
    return folder


def test_a_running_instance_keeps_its_version_after_a_changed_bpmn_is_deployed(
        app: App, programme: Programme, tmp_path: Path) -> None:  # noqa: F811
    old = programme.submit_visitor_application().assessed()
    old_instance = old.instance_id

    # A second application (same process) started from the new files: a new version of `exchange` only.
    upgraded = App(app.settings)
    upgraded.library = ProcessLibrary(bpmn_dir=changed_bpmn(tmp_path))
    try:
        result = init_database(upgraded)
        assert result["processes_deployed"] == [{"process": "exchange", "version": 2}]
        assert init_database(upgraded)["processes_deployed"] == []

        newer = Programme(upgraded, **{k: getattr(programme, k) for k in (
            "call_id", "north_id", "south_id", "visitor_org_id", "host_org_id", "outsider_org_id",
            "host_application_id", "users")})
        # the outsider organisation applies too (an organisation visits only once)
        newer.visitor_org_id = programme.outsider_org_id
        newer.submit_visitor_application().assessed().propose_match()
        with upgraded.uow() as uow:
            assert instance_view(uow, SYSTEM, newer.instance_id).version == 2
            assert instance_view(uow, SYSTEM, old_instance).version == 1
        assert newer.open_task("visitor_accept_match").name == "Answer the match proposal"

        # The old instance advances on version 1 — rebuilt from the stored XML by the new application,
        # and still by the original one.
        old.propose_match()
        assert old.open_task("visitor_accept_match").name == "Accept or decline the match"
        old.complete("visitor_accept_match", VISITOR, accept_match())
        Programme(upgraded, instance_id=old_instance).complete("host_accept_match", HOST, accept_match())
        assert old.open_specs() == ["agree_commitment"]
    finally:
        upgraded.close()
    with app.uow() as uow:
        versions = dict(uow.session.execute(
            select(ProcessInstance.id, ProcessDefinition.version)
            .join(ProcessDefinition, ProcessDefinition.id == ProcessInstance.definition_id)
            .where(ProcessInstance.process_id == "exchange")).all())
    assert versions == {old_instance: 1, newer.instance_id: 2}


def test_a_long_running_process_starts_new_instances_on_a_version_another_process_deployed(app, tmp_path):  # noqa: F811
    """Two ProcessLibrary objects stand for two workers; the second deploys an edited BPMN."""
    import shutil

    from workflows.engine.library import BPMN_DIR, ProcessLibrary

    with app.uow() as uow:
        before = app.library.current(uow, "hosting").version
    edited = tmp_path / "bpmn"
    shutil.copytree(BPMN_DIR, edited)
    hosting = edited / "hosting.bpmn"
    hosting.write_text(hosting.read_text(encoding="utf-8").replace("<bpmn:process ", "<!-- v2 --><bpmn:process ", 1),
                       encoding="utf-8")
    other_worker = ProcessLibrary(bpmn_dir=edited)
    with app.uow() as uow:
        other_worker.deploy(uow.session, uow.now())
        uow.commit()
    with app.uow() as uow:
        assert app.library.current(uow, "hosting").version == before + 1
