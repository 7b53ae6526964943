"""Request guards every route runs before its own dependencies."""

from __future__ import annotations

from fastapi import HTTPException, Request
from fastapi.exceptions import RequestValidationError


async def refuse_nul_characters(request: Request) -> None:
    """Answer 404 for a NUL in the path and 422 (400 on pages) for one in the query string.

    PostgreSQL text cannot hold U+0000: a code or search term carrying one makes the driver
    raise instead of finding nothing, which would be a 500. No code or name in Tongxin
    contains it, so the request is refused before any route looks anything up. It is async
    so it runs inline: a plain function would hop through the thread pool on every request.
    """
    if "\x00" in request.url.path:
        raise HTTPException(status_code=404, detail="Not Found")
    for key, value in request.query_params.multi_items():
        if "\x00" in key or "\x00" in value:
            raise RequestValidationError(
                [
                    {
                        "loc": ("query", key.replace("\x00", "")),
                        "msg": "NUL character not allowed",
                        "type": "null_character",
                    }
                ]
            )
