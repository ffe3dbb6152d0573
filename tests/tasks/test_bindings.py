"""The BPMN files and the Python steps fit together: every service task names a registered function,
every user task has a form, and a process library refuses a BPMN file that does not fit."""
from __future__ import annotations

import shutil
from datetime import UTC, datetime, timezone
from pathlib import Path

import pytest
from lxml import etree
from sqlalchemy import func, select

from tasks.forms import FORMS
from tasks.registry import services
from workflows.engine.library import BPMN_DIR, DefinitionError, ProcessLibrary

NS = {"bpmn": "http://www.omg.org/spec/BPMN/20100524/MODEL",
      "spiffworkflow": "http://spiffworkflow.org/bpmn/schema/1.0/core"}
BPMN_FILES = sorted(BPMN_DIR.glob("*.bpmn"))
NOW = datetime(2027, 1, 11, 9, 0, tzinfo=UTC)


def _xpath(expression: str) -> dict[str, str]:
    """value -> file name, over every BPMN file of bpmn/."""
    found = {}
    for path in BPMN_FILES:
        for value in etree.parse(str(path)).getroot().xpath(expression, namespaces=NS):
            found[str(value)] = path.name
    return found


def operator_names() -> dict[str, str]:
    return _xpath("//spiffworkflow:serviceTaskOperator/@id")


def user_task_ids() -> dict[str, str]:
    return _xpath("//bpmn:userTask/@id")


def test_the_three_processes_are_there_to_check() -> None:
    assert {p.name for p in BPMN_FILES} >= {"call.bpmn", "exchange.bpmn", "hosting.bpmn"}
    assert len(operator_names()) >= 30
    assert len(user_task_ids()) >= 19


def test_every_service_task_operator_is_registered() -> None:
    registered = services()
    unbound = {name: file for name, file in operator_names().items() if name not in registered}
    assert unbound == {}


def test_every_registered_service_is_used_by_a_process() -> None:
    unused = set(services()) - set(operator_names())
    assert unused == set()


def test_every_user_task_has_a_form() -> None:
    missing = {task: file for task, file in user_task_ids().items() if task not in FORMS}
    assert missing == {}


def test_every_form_belongs_to_a_user_task() -> None:
    assert set(FORMS) - set(user_task_ids()) == set()


# ---- the library refuses BPMN that does not fit ------------------------------------------------------
def small_bpmn(operator: str = "check_eligibility", user_task: str = "assess_application") -> str:
    """A process `probe`: start → service task `operator` → user task `user_task` → end."""
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core"
    id="probe_definitions" targetNamespace="https://clusterxchange.eu/bpmn">
  <bpmn:process id="probe" isExecutable="true">
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:serviceTask id="svc">
      <bpmn:extensionElements>
        <spiffworkflow:serviceTaskOperator id="{operator}" resultVariable="svc_result">
          <spiffworkflow:parameters/>
        </spiffworkflow:serviceTaskOperator>
      </bpmn:extensionElements>
      <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
    </bpmn:serviceTask>
    <bpmn:userTask id="{user_task}"><bpmn:incoming>f2</bpmn:incoming><bpmn:outgoing>f3</bpmn:outgoing></bpmn:userTask>
    <bpmn:endEvent id="end"><bpmn:incoming>f3</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="svc"/>
    <bpmn:sequenceFlow id="f2" sourceRef="svc" targetRef="{user_task}"/>
    <bpmn:sequenceFlow id="f3" sourceRef="{user_task}" targetRef="end"/>
  </bpmn:process>
</bpmn:definitions>
"""


@pytest.fixture
def app(tmp_path: Path):  # type: ignore[no-untyped-def]
    """An initialised application on a SQLite file (the refusals do not depend on the database)."""
    from workflows.app import App
    from workflows.services.setup import init_database
    from workflows.settings import Settings

    application = App(Settings(database_url=f"sqlite:///{tmp_path}/cxp.db", files_dir=tmp_path / "files"))
    init_database(application)
    yield application
    application.close()


def folder_with(tmp_path: Path, name: str, text: str) -> Path:
    """A copy of bpmn/ plus one more file."""
    folder = tmp_path / "bpmn"
    shutil.copytree(BPMN_DIR, folder)
    (folder / name).write_text(text, encoding="utf-8")
    return folder


def deploy(app, folder: Path) -> ProcessLibrary:  # type: ignore[no-untyped-def]
    library = ProcessLibrary(bpmn_dir=folder)
    with app.uow() as uow:
        library.deploy(uow.session, NOW)
        uow.commit()
    return library


def stored_definitions(app) -> int:  # type: ignore[no-untyped-def]
    from workflows.db.process_models import ProcessDefinition

    with app.uow() as uow:
        return uow.session.scalar(select(func.count(ProcessDefinition.id)))


def test_a_well_bound_small_process_deploys(app, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    library = deploy(app, folder_with(tmp_path, "probe.bpmn", small_bpmn()))
    with app.uow() as uow:
        assert library.current(uow, "probe").version == 1


def test_a_process_naming_an_unknown_service_is_refused(app, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    before = stored_definitions(app)
    folder = folder_with(tmp_path, "probe.bpmn", small_bpmn(operator="send_a_fax"))
    with pytest.raises(DefinitionError) as refused:
        deploy(app, folder)
    message = str(refused.value)
    assert "probe.bpmn" in message
    assert "unknown service 'send_a_fax'" in message
    assert stored_definitions(app) == before


def test_a_user_task_without_a_form_is_refused(app, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    folder = folder_with(tmp_path, "probe.bpmn", small_bpmn(user_task="sing_a_song"))
    with pytest.raises(DefinitionError, match=r"probe\.bpmn: user task 'sing_a_song' has no form"):
        deploy(app, folder)


def test_every_problem_of_a_file_is_named_at_once(app, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    folder = folder_with(tmp_path, "probe.bpmn", small_bpmn(operator="send_a_fax", user_task="sing_a_song"))
    with pytest.raises(DefinitionError) as refused:
        deploy(app, folder)
    assert "send_a_fax" in str(refused.value) and "sing_a_song" in str(refused.value)


def test_a_file_that_is_not_xml_is_refused_with_its_name(app, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    folder = folder_with(tmp_path, "broken.bpmn", small_bpmn()[:400])
    with pytest.raises(DefinitionError, match=r"^broken\.bpmn: "):
        deploy(app, folder)


def test_a_file_that_breaks_the_bpmn_schema_is_refused_with_its_name(app, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    text = small_bpmn().replace('<bpmn:endEvent id="end">', '<bpmn:endEvent id="end" colour="red">')
    folder = folder_with(tmp_path, "odd.bpmn", text)
    with pytest.raises(DefinitionError, match=r"^odd\.bpmn: "):
        deploy(app, folder)


def test_a_refused_deploy_stores_nothing_and_leaves_the_library_as_it_was(app, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """A good file sorted before the bad one is not half-deployed, neither in the database nor in the
    library's memory: the library still starts the stored version, and a later deploy of another edit
    runs that edit (not the refused one)."""
    folder = tmp_path / "bpmn"
    shutil.copytree(BPMN_DIR, folder)
    hosting = folder / "hosting.bpmn"
    original = hosting.read_text()
    hosting.write_text(original.replace('name="Approve the host offer"', 'name="Refused edit"'))
    (folder / "zz_broken.bpmn").write_text(small_bpmn(operator="send_a_fax"))
    before = stored_definitions(app)
    library = ProcessLibrary(bpmn_dir=folder)
    with app.uow() as uow:
        library.current(uow, "hosting")
        with pytest.raises(DefinitionError):
            library.deploy(uow.session, NOW)
    assert stored_definitions(app) == before
    with app.uow() as uow:
        assert library.current(uow, "hosting").version == 1

    (folder / "zz_broken.bpmn").unlink()
    hosting.write_text(original.replace('name="Approve the host offer"', 'name="Accepted edit"'))
    with app.uow() as uow:
        deployed = library.deploy(uow.session, NOW)
        uow.commit()
    assert [(d.process_id, d.version) for d in deployed] == [("hosting", 2)]
    with app.uow() as uow:
        current = library.current(uow, "hosting")
        assert current.version == 2
        assert current.user_tasks["approve_host"]["label"] == "Accepted edit"
