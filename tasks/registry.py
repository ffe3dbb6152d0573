"""Service-task registry: BPMN `serviceTaskOperator` names bound to Python functions.

A service function takes the context the engine hands it (see `tasks.ports.ServiceContext`) and the
task data, and returns a dict of task-data updates (JSON-able values only).
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from tasks.ports import ServiceContext

ServiceFn = Callable[[ServiceContext, Mapping[str, Any]], "dict[str, Any] | None"]

_SERVICES: dict[str, ServiceFn] = {}


def service(name: str) -> Callable[[ServiceFn], ServiceFn]:
    """Register `fn` under the operation name used in the BPMN files."""

    def register(fn: ServiceFn) -> ServiceFn:
        if name in _SERVICES and _SERVICES[name] is not fn:
            raise ValueError(f"service '{name}' is registered twice")
        _SERVICES[name] = fn
        return fn

    return register


def services() -> dict[str, ServiceFn]:
    """All registered services (imports the modules that define them)."""
    from tasks import call_services, exchange_services, hosting_services, registration_services  # noqa: F401

    return dict(_SERVICES)


def get_service(name: str) -> ServiceFn:
    registered = services()
    if name not in registered:
        raise KeyError(f"no service is registered under '{name}'")
    return registered[name]
