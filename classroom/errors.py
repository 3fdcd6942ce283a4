"""Domain errors with stable codes, turned into error acks or HTTP statuses at one boundary."""

from __future__ import annotations

from typing import Any


class ClassroomError(Exception):
    """Base of every error a client may see. ``code`` is stable; ``message`` is for people."""

    code = "INTERNAL"
    http_status = 500

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field

    def to_dict(self) -> dict[str, Any]:
        """The ``error`` object of an ack or an HTTP error body."""
        body: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.field is not None:
            body["field"] = self.field
        return body


class InvalidPayload(ClassroomError):
    """The payload breaks the event's schema or limits; ``field`` names the first problem."""

    code = "INVALID_PAYLOAD"
    http_status = 400


class MethodNotAllowed(ClassroomError):
    """The path exists, but not with this HTTP method."""

    code = "METHOD_NOT_ALLOWED"
    http_status = 405


class OutOfRange(InvalidPayload):
    """A value is well formed but outside what the class allows (a trim point past the end)."""

    code = "OUT_OF_RANGE"
    http_status = 400


class NothingToExport(ClassroomError):
    """The lesson has nothing to show (a class made and never used): no export is written."""

    code = "NOTHING_TO_EXPORT"
    http_status = 409


class PayloadTooLarge(ClassroomError):
    """The request or message is larger than allowed."""

    code = "PAYLOAD_TOO_LARGE"
    http_status = 413


class PictureTooLarge(PayloadTooLarge):
    """A picture has more pixels than the server decodes (save it smaller, or as JPEG)."""

    code = "PICTURE_TOO_LARGE"
    http_status = 413


class Unauthorized(ClassroomError):
    """No valid token: log in or join again."""

    code = "UNAUTHORIZED"
    http_status = 401


class OutdatedClient(ClassroomError):
    """The app speaks another protocol version than the server: reload it to get the new one."""

    code = "OUTDATED_CLIENT"
    http_status = 426


class Forbidden(ClassroomError):
    """This role or person may not do this."""

    code = "FORBIDDEN"
    http_status = 403


class NotFound(ClassroomError):
    """The class, student, page, poll or question does not exist."""

    code = "NOT_FOUND"
    http_status = 404


class Conflict(ClassroomError):
    """The request is well formed but the class is not in a state that allows it."""

    code = "CONFLICT"
    http_status = 409


class IdempotencyConflict(ClassroomError):
    """A retry reused a client id (idempotency key) with another payload than the stored one."""

    code = "IDEMPOTENCY_CONFLICT"
    http_status = 409


class ClassEnded(ClassroomError):
    """The teacher ended the class; it is read-only now."""

    code = "CLASS_ENDED"
    http_status = 409


class RateLimited(ClassroomError):
    """Too many requests; ``retry_after_s`` says when to try again."""

    code = "RATE_LIMITED"
    http_status = 429

    def __init__(self, message: str, *, retry_after_s: float = 1.0) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s

    def to_dict(self) -> dict[str, Any]:
        body = super().to_dict()
        body["retry_after_s"] = round(self.retry_after_s, 3)
        return body


class UnknownEvent(ClassroomError):
    """The event name is not part of the protocol."""

    code = "UNKNOWN_EVENT"
    http_status = 404


class StoreUnavailable(ClassroomError):
    """The store cannot be reached; retry with the same client id."""

    code = "STORE_UNAVAILABLE"
    http_status = 503


class Busy(ClassroomError):
    """The server is busy (pictures being decoded, or every connection in use); retry soon."""

    code = "BUSY"
    http_status = 503


class RequestTimeout(ClassroomError):
    """The request (its body) did not arrive in time; send it again."""

    code = "TIMEOUT"
    http_status = 408


class InternalError(ClassroomError):
    """An unexpected server error; nothing was applied."""

    code = "INTERNAL"
    http_status = 500
