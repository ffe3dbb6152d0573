"""Incidents: a failed service step is visible on its instance and can be retried by an officer."""
from __future__ import annotations

from typing import Any

from workflows.app import App
from workflows.db.process_models import ProcessInstance
from workflows.engine.runner import EngineError
from workflows.services import NotFound, ServiceError
from workflows.services.inbox import actor_of, get_user
from workflows.services.lifecycle import _settle


def retry(app: App, instance_id: int, username: str) -> dict[str, Any]:
    with app.uow() as uow:
        user = get_user(uow, username)
        if user.role not in ("officer", "administrator"):
            raise ServiceError(f"user: {username} is {user.role}; only officers and administrators retry incidents")
        instance = uow.session.get(ProcessInstance, instance_id)
        if instance is None:
            raise NotFound(f"instance {instance_id} does not exist")
        try:
            _settle(app, uow, app.engine.retry(uow, instance, actor_of(user)))
        except EngineError as err:
            raise ServiceError(str(err)) from err
        uow.commit()
        return {"status": instance.status, "incident": instance.incident}
