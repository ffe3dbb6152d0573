"""Use cases: one small function per thing a person or a schedule does; CLI, web and flows call them."""


class ServiceError(Exception):
    """An expected refusal with a sentence for a person (naming the field where there is one)."""


class NotFound(ServiceError):
    pass


class PermissionDenied(ServiceError):
    pass
