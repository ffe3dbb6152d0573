"""Use cases: one small function per thing a person or a schedule does; CLI, web and flows call them."""


class ServiceError(Exception):
    """An expected refusal with a sentence for a person (naming the field where there is one)."""


class NotFound(ServiceError):
    pass


class PermissionDenied(ServiceError):
    pass


class Conflict(ServiceError):
    """The record was changed by someone else meanwhile (a lost race): nothing was written, and it is
    not a refusal — the person may look again and retry. The CLI exits 4, the HTTP API answers 409."""


def task_conflict(task_id: int) -> Conflict:
    """The one message of a claim, release or completion that lost its task to someone else."""
    return Conflict(f"task {task_id} was completed or changed by someone else meanwhile; nothing was written")
