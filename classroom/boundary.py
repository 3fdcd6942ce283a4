"""Helpers shared by the HTTP and Socket.IO boundaries."""

from __future__ import annotations

from aiohttp import web
from pydantic import ValidationError

from classroom.errors import InvalidPayload


def describe_validation_error(exc: ValidationError) -> InvalidPayload:
    """A short, safe message (never echoes the input) naming the first bad field."""
    first = exc.errors(include_url=False, include_input=False)[0]
    loc = ".".join(str(part) for part in first["loc"]) or "payload"
    more = exc.error_count() - 1
    suffix = f" (and {more} more problem{'s' if more > 1 else ''})" if more > 0 else ""
    return InvalidPayload(f"{loc}: {first['msg']}{suffix}", field=loc)


def client_address(request: web.Request, *, trust_proxy: bool) -> str:
    """The address of the device that sent ``request`` (through a trusted proxy if configured)."""
    if trust_proxy:
        forwarded = request.headers.get("X-Forwarded-For", "")
        if forwarded:
            return forwarded.split(",")[-1].strip()
    return request.remote or "unknown"
