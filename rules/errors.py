"""The one error the rules raise for input they cannot judge.

A *decision* (ineligible, too few days, budget exhausted) is never an error: it comes back as a
`Decision` or a result with reason codes. `RuleInputError` is for input that makes no sense at all —
a departure before the arrival, an unknown country code, a negative number of days — and it names the
field so that a form, the CLI or the HTTP API can point at it.
"""
from __future__ import annotations


class RuleInputError(ValueError):
    """Bad input to a rule; `str(err)` is ``"<field>: <message>"``."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message

    def __reduce__(self) -> tuple[type[RuleInputError], tuple[str, str]]:
        # Keep the two-argument constructor when pickled (Prefect, multiprocessing).
        return (type(self), (self.field, self.message))
