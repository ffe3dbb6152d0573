"""The `tasks.ports.ServiceContext` the engine hands to service functions."""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from tasks.ports import ProgrammeRecords
from workflows import outbox
from workflows.audit import SYSTEM
from workflows.db.process_models import ProcessInstance
from workflows.engine.runner import Outgoing
from workflows.programme import Programme
from workflows.uow import UnitOfWork


class EngineContext:
    def __init__(self, uow: UnitOfWork, instance: ProcessInstance, outgoing: list[Outgoing]) -> None:
        self._uow = uow
        self._outgoing = outgoing
        self.instance_id = instance.id
        self.process_id = instance.process_id
        self.programme: ProgrammeRecords = Programme(uow.session, uow.now(), self._programme_audit)  # every port

    def _programme_audit(self, actor: Any, action: str, **kwargs: Any) -> None:
        self._uow.audit(actor, action, instance_id=self.instance_id, **kwargs)

    def now(self):
        return self._uow.now()

    def notify(self, template: str, to: Sequence[str], context: Mapping[str, Any], key: str) -> None:
        outbox.enqueue(self._uow.session, template=template, to=to, context=context, key=key, now=self.now())

    def audit(self, action: str, subject: str | None = None, before: Any = None, after: Any = None) -> None:
        self._uow.audit(SYSTEM, action, instance_id=self.instance_id, subject=subject, before=before, after=after)

    def send_message(self, subject_type: str, subject_id: int, name: str, payload: Mapping[str, Any]) -> None:
        self._outgoing.append(Outgoing(subject_type, subject_id, name, dict(payload)))

    def dispatch(self, task: Any, operation_name: str, params: dict[str, Any]) -> dict[str, Any] | None:
        """Run one service in a savepoint: a failing service leaves no half-written rows behind."""
        from tasks.registry import get_service

        service = get_service(operation_name)
        data = {**task.data, **params}
        with self._uow.session.begin_nested():
            result = service(self, data)
        self._uow.audit(SYSTEM, "service_task", instance_id=self.instance_id, task=task.task_spec.name,
                        after={"operation": operation_name, "result": result})
        return result
