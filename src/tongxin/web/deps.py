"""FastAPI dependencies: the request's transaction and the signed-in user."""

from __future__ import annotations

from collections.abc import Iterator

from fastapi import Request
from sqlalchemy.orm import Session

from tongxin.db import session_scope


def get_session(request: Request) -> Iterator[Session]:
    """Open the one transaction of this request."""
    with session_scope(request.app.state.sessionmaker) as session:
        yield session
