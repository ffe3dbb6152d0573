"""What happens when a process ends, beyond the engine's own bookkeeping.

The use cases own it (an exchange's final status is set by `workflows.services.lifecycle`), but the
engine is built by `workflows.app`, which must not import the use cases (they import it). So the
services register their hooks here when they are imported, and the engine runs them: every use case
that advances a process imports `workflows.services.lifecycle`, so its hook is in place before any
process can end. Registering is done at import time, once; running only reads the registry."""
from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from workflows.db.process_models import ProcessInstance
    from workflows.uow import UnitOfWork

Hook = Callable[["UnitOfWork", "ProcessInstance"], None]

# by the hook's qualified name, so that importing a module again replaces its hook rather than adding one
_HOOKS: dict[str, Hook] = {}


def when_completed(hook: Hook) -> Hook:
    """Decorator: run `hook(uow, instance)` in the unit of work in which a process instance ends."""
    _HOOKS[f"{hook.__module__}.{hook.__qualname__}"] = hook
    return hook


def hooks() -> tuple[Hook, ...]:
    return tuple(_HOOKS.values())


def run(uow: UnitOfWork, instance: ProcessInstance) -> None:
    """Every registered hook, in the order they were registered."""
    for hook in tuple(_HOOKS.values()):
        hook(uow, instance)
