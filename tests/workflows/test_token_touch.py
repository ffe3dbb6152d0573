"""A token's `last_used_at` is a hint moved at most once a minute: concurrent requests of one token,
or a database that refuses the write, never fail the request over it."""
from __future__ import annotations

import threading
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.exc import OperationalError

from tests.workflows.test_accounts import accounts  # noqa: F401 - the fixture: three users, one hash
from workflows.app import App
from workflows.db.account_models import ApiToken
from workflows.services import tokens
from workflows.services.access import SYSTEM
from workflows.services.tokens import issue_token, principal_for_token


def last_used(app: App, token_id: int) -> Any:
    with app.uow() as uow:
        return uow.session.scalar(select(ApiToken.last_used_at).where(ApiToken.id == token_id))


def test_twenty_requests_using_a_fresh_token_at_once_all_sign_in(accounts: App) -> None:
    issued = issue_token(accounts, SYSTEM, "officer1.north")
    start, found, failed = threading.Barrier(20), [], []

    def request() -> None:
        start.wait()
        try:
            found.append(principal_for_token(accounts, issued.token).username)
        except Exception as err:  # noqa: BLE001 - what the request would have answered
            failed.append(repr(err))

    threads = [threading.Thread(target=request) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failed == [] and found == ["officer1.north"] * 20
    assert last_used(accounts, issued.id) is not None


class _Refused:
    def execute(self, connection: Any, **params: Any) -> None:
        raise OperationalError("UPDATE api_tokens", params, Exception("database is locked"))


def test_a_use_the_database_refuses_to_record_still_signs_in(accounts: App, monkeypatch: pytest.MonkeyPatch) -> None:
    issued = issue_token(accounts, SYSTEM, "officer1.north")
    monkeypatch.setattr(tokens, "_TOUCH", _Refused())
    assert principal_for_token(accounts, issued.token).username == "officer1.north"
    assert last_used(accounts, issued.id) is None
