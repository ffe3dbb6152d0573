"""Incidents: a failed service step is visible on its instance and can be retried by an officer."""
from __future__ import annotations

from workflows.app import App
from workflows.engine.runner import EngineError
from workflows.services import ServiceError, access
from workflows.services.access import Principal
from workflows.services.lifecycle import _settle
from workflows.services.outputs import RetryOut


def retry(app: App, instance_id: int, principal: Principal) -> RetryOut:
    """Retry the failed step of an instance the principal sees; officers and administrators only."""
    with app.uow() as uow:
        instance = access.visible_instance(uow, principal, instance_id)
        access.require_role(app, uow, principal, ("officer", "administrator"), "retry incidents",
                            instance_id=instance_id)
        try:
            _settle(app, uow, app.engine.retry(uow, instance, principal.actor))
        except EngineError as err:
            raise ServiceError(str(err)) from err
        uow.commit()
        return RetryOut(instance=instance.id, status=instance.status, incident=instance.incident)
