"""CXP_PUBLIC_URL: the base of every link the product mails."""
from __future__ import annotations

import pytest
from pydantic import ValidationError

from workflows.settings import Settings


def test_links_in_emails_start_at_the_public_address(tmp_path) -> None:
    settings = Settings(database_url=f"sqlite:///{tmp_path}/x.db", public_url="https://cxp.example.eu/")
    assert settings.link("/tasks/12") == "https://cxp.example.eu/tasks/12"

def test_a_public_address_that_is_not_a_web_address_is_refused(tmp_path) -> None:
    with pytest.raises(ValidationError, match="public_url"):
        Settings(database_url=f"sqlite:///{tmp_path}/x.db", public_url="cxp.example.eu")
