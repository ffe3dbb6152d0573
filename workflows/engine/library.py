"""Process definitions: the BPMN files of the `bpmn` package, each version stored once by SHA-256.

A running instance keeps the definition it started with; new instances take the newest one.
"""
from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass, field
from datetime import datetime
from importlib.resources import files
from importlib.resources.abc import Traversable
from typing import TYPE_CHECKING, Any

from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import Session

from workflows.db.prepared import Prepared
from workflows.db.process_models import ProcessDefinition
from workflows.engine import spiff

if TYPE_CHECKING:
    from workflows.uow import UnitOfWork

# package data (bpmn/__init__.py): found the same way in a checkout and in a wheel install
BPMN_DIR: Traversable = files("bpmn")


from workflows.engine.errors import DefinitionError  # noqa: E402  (re-exported)


@dataclass
class LoadedDefinition:
    id: int
    process_id: str
    version: int
    sha256: str
    spec: Any
    subprocess_specs: dict[str, Any]
    user_tasks: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def key(self) -> str:
        return self.sha256


def _parse(xml: bytes, filename: str) -> dict[str, tuple[Any, dict[str, Any]]]:
    try:
        parser = spiff.parse_bpmn(xml, filename)
        return {pid: (parser.get_spec(pid), parser.get_subprocess_specs(pid)) for pid in parser.get_process_ids()}
    except Exception as err:  # Spiff raises several unrelated exception types for bad BPMN
        raise DefinitionError(f"{filename}: {err}") from err


def _user_tasks(spec: Any) -> dict[str, dict[str, Any]]:
    """Lane and properties (partnership, due) of every user task of a spec."""
    found = {}
    for name, task_spec in spec.task_specs.items():
        if getattr(task_spec, "manual", False):
            props = (getattr(task_spec, "extensions", None) or {}).get("properties", {})
            found[name] = {"lane": task_spec.lane or "", "label": task_spec.bpmn_name or name, **props}
    return found


def binding_problems(spec: Any) -> list[str]:
    """What keeps a spec from running here: a service task naming a service the registry does not
    have, a user task with no form (tasks/forms.py), one sentence each."""
    from SpiffWorkflow.spiff.specs.defaults import ServiceTask, UserTask

    from tasks.forms import FORMS
    from tasks.registry import services

    registered = services()
    problems = []
    for name, task_spec in spec.task_specs.items():
        if isinstance(task_spec, ServiceTask) and task_spec.operation_name not in registered:
            problems.append(f"service task '{name}' calls unknown service '{task_spec.operation_name}'")
        if isinstance(task_spec, UserTask) and name not in FORMS:
            problems.append(f"user task '{name}' has no form")
    return problems


def check_bindings(spec: Any, filename: str) -> None:
    """Every service task names a registered service and every user task has a form."""
    problems = binding_problems(spec)
    if problems:
        raise DefinitionError(f"{filename}: " + "; ".join(problems))


def parse_definitions(xml: bytes, filename: str) -> dict[str, tuple[Any, dict[str, Any]]]:
    """The processes of one BPMN document by id, each (spec, subprocess specs); `DefinitionError`
    when it does not parse or validate against the BPMN schema."""
    return _parse(xml, filename)


def bpmn_files(folder: Traversable) -> list[Traversable]:
    """The `.bpmn` files of `folder` (a package's resources or a plain directory), by name."""
    found = [item for item in folder.iterdir() if item.name.endswith(".bpmn") and item.is_file()]
    return sorted(found, key=lambda item: item.name)


# asked at every process start (workflows/db/prepared.py)
_NEWEST = Prepared(
    select(ProcessDefinition.__table__.c.id)
    .where(ProcessDefinition.__table__.c.process_id == bindparam("process_id"))
    .order_by(ProcessDefinition.__table__.c.version.desc())
    .limit(1)
)


class ProcessLibrary:
    """Parsed specs by definition id and by SHA-256, with the newest deployed version per process.

    Shared by the threads of one process: a definition is parsed once, under a lock (a second thread
    asking for it meanwhile waits rather than parsing it again); once remembered, a definition and its
    specs are only read, and finding it takes no lock. `deploy` parses every file anyway and only
    remembers what it stored (`_remember` registers the spec before the definition can be found)."""

    def __init__(self, bpmn_dir: Traversable = BPMN_DIR) -> None:
        self.bpmn_dir = bpmn_dir
        self._by_id: dict[int, LoadedDefinition] = {}
        self._lock = threading.Lock()  # held while one definition is parsed, never across I/O

    def _remember(self, row: ProcessDefinition, spec: Any, subprocess_specs: dict[str, Any]) -> LoadedDefinition:
        loaded = LoadedDefinition(
            row.id, row.process_id, row.version, row.sha256, spec, subprocess_specs, _user_tasks(spec)
        )
        spiff.register_spec(loaded.key, spec, subprocess_specs)
        self._by_id[row.id] = loaded
        return loaded

    def deploy(self, session: Session, now: datetime) -> list[LoadedDefinition]:
        """Store every BPMN file version not stored yet (the newest version of a process is current).

        Every file is parsed and checked before anything is stored or remembered, so that a refused
        file leaves neither rows nor remembered specs of the files sorted before it."""
        parsed = []
        for path in bpmn_files(self.bpmn_dir):
            xml = path.read_bytes()
            specs = _parse(xml, path.name)
            for spec, _subprocess_specs in specs.values():
                check_bindings(spec, path.name)
            parsed.append((path, xml, specs))
        deployed = []
        for path, xml, specs in parsed:
            deployed += [loaded for loaded, created in self.store(session, xml, path.name, specs, now) if created]
        return deployed

    def store(self, session: Session, xml: bytes, filename: str, specs: dict[str, tuple[Any, dict[str, Any]]],
              now: datetime, **columns: Any) -> list[tuple[LoadedDefinition, bool]]:
        """Store the processes of one checked BPMN document (`specs`, from `parse_definitions`) unless
        a version with the same SHA-256 is stored already: each as (its definition, whether it is new).
        A new one is the process's next version, hence its current one; `columns` are more of its
        columns (who deployed it, why, what was checked)."""
        sha = hashlib.sha256(xml).hexdigest()
        stored = []
        for process_id, (spec, subprocess_specs) in specs.items():
            key = f"{sha}:{process_id}" if len(specs) > 1 else sha
            row = session.scalars(select(ProcessDefinition).where(ProcessDefinition.sha256 == key)).first()
            created = row is None
            if row is None:
                latest = session.scalar(
                    select(func.max(ProcessDefinition.version)).where(ProcessDefinition.process_id == process_id)
                )
                row = ProcessDefinition(
                    process_id=process_id, version=(latest or 0) + 1, sha256=key,
                    filename=filename, bpmn_xml=xml.decode("utf-8"), deployed_at=now, **columns,
                )
                session.add(row)
                session.flush()
                # a new row may reuse the id of a row rolled back earlier: never trust the memory
                self._remember(row, spec, subprocess_specs)
            elif row.id not in self._by_id:
                self._remember(row, spec, subprocess_specs)
            stored.append((self._by_id[row.id], created))
        return stored

    def current(self, uow: UnitOfWork, process_id: str) -> LoadedDefinition:
        """The newest deployed version, asked of the database each time (one indexed query), so that
        a long-running worker starts new instances on a version another process deployed."""
        row = _NEWEST.first(uow.connection, process_id=process_id)
        newest = row[0] if row else None
        if newest is None:
            raise DefinitionError(f"process '{process_id}' is not deployed: run `cxp init`")
        return self.by_id(uow, newest)

    def by_id(self, uow: UnitOfWork, definition_id: int) -> LoadedDefinition:
        found = self._by_id.get(definition_id)
        if found is not None:
            return found
        row = uow.session.get(ProcessDefinition, definition_id)  # read outside the lock: no I/O is waited on
        if row is None:
            raise DefinitionError(f"process definition {definition_id} does not exist")
        with self._lock:
            found = self._by_id.get(definition_id)
            if found is None:
                specs = _parse(row.bpmn_xml.encode("utf-8"), row.filename)
                spec, subprocess_specs = specs[row.process_id]
                found = self._remember(row, spec, subprocess_specs)
            return found
