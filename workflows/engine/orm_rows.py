"""The one place the engine uses SQLAlchemy beyond its public API, for speed.

The engine reads and writes `process_instances` rows with prepared Core statements (no ORM query per
step) and then hands the services an ORM object of the row it already holds, built as SQLAlchemy's own
loader builds one: `Mapper.class_manager.new_instance()` (no `__init__`, no events), the column values
put into the object's `__dict__`, then made persistent and clean by `make_transient_to_detached` and
`Session.add` (`workflows.uow.UnitOfWork.attach`). `class_manager.new_instance` is not documented API;
tests/workflows/test_library_internals.py fails by name if an upgrade of SQLAlchemy removes it, and the
engine's persistence tests (tests/workflows/test_persistence.py) fail if the object it builds stops
behaving as a loaded one (lazy loads of deferred columns, version counter, flush of changes)."""
from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypeVar

T = TypeVar("T")

INTERNALS = ("sqlalchemy.orm.Mapper.class_manager.new_instance",)


def loaded_factory(model: type[T]) -> Callable[[Mapping[str, Any] | Iterable[tuple[str, Any]]], T]:
    """A function building an object of `model` from a row's values as if SQLAlchemy had loaded it
    (still to be attached to a session)."""
    new_instance = model.__mapper__.class_manager.new_instance  # type: ignore[attr-defined]

    def build(values: Mapping[str, Any] | Iterable[tuple[str, Any]]) -> T:
        obj: T = new_instance()
        obj.__dict__.update(values)
        return obj
    return build
