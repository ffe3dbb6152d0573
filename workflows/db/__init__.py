"""Database models and sessions (SQLAlchemy 2)."""
from workflows.db import account_models as account_models  # noqa: F401
from workflows.db import models as models  # noqa: F401  (register tables)
from workflows.db import process_models as process_models  # noqa: F401
from workflows.db import registration_models as registration_models  # noqa: F401
from workflows.db import version_models as version_models  # noqa: F401
from workflows.db.base import Base, make_engine, make_session_factory

__all__ = ["Base", "make_engine", "make_session_factory"]
