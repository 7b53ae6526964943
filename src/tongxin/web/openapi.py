"""OpenAPI declarations of the error answers API routes give.

A client generated from the schema, and the schemathesis run in the test suite, trust the
schema's list of status codes; a route that can answer 404 or 401 declares it here.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel


class ErrorOut(BaseModel):
    """An error answer in FastAPI's shape: `{"detail": "..."}`."""

    detail: str


_DESCRIPTIONS = {
    400: "The body cannot be decoded",
    401: "Not signed in, or a missing, unknown, expired or revoked device token",
    403: "The device token is of the wrong kind for this route, or the user lacks the permission",
    404: "Nothing with that key, or it lies outside the caller's jurisdiction",
    409: "The request conflicts with the record's state (e.g. the caller has an open case)",
    413: "The body is too large",
    422: "The body cannot be used",
}


def error_responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """Return the `responses=` of a route that may answer with these error codes.

    Leave 422 out on routes whose parameters FastAPI validates: FastAPI documents its own
    validation-error shape there, and a 422 here would replace it.
    """
    return {code: {"model": ErrorOut, "description": _DESCRIPTIONS[code]} for code in codes}
