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


class ExportFailed(ClassroomError):
    """An export could not be written (a writer failed, or its QC report did not pass)."""

    code = "EXPORT_FAILED"
    http_status = 500


class DiskFull(ExportFailed):
    """The disk filled up while an export was written: nothing was left under a final name."""

    code = "DISK_FULL"
    http_status = 507


class QcFailed(ExportFailed):
    """Every file was written, but a QC report measured from it did not pass (files kept)."""

    code = "QC_FAILED"
    http_status = 500
    result: Any = None  # the export's files and verdicts (classroom.export.run.ExportResult)


class NotWritable(ExportFailed):
    """The export's output folder cannot be made or written to."""

    code = "NOT_WRITABLE"
    http_status = 500


class PayloadTooLarge(ClassroomError):
    """The request or message is larger than allowed."""

    code = "PAYLOAD_TOO_LARGE"
    http_status = 413


class PictureTooLarge(PayloadTooLarge):
    """A picture has more pixels than the server decodes (save it smaller, or as JPEG)."""

    code = "PICTURE_TOO_LARGE"
    http_status = 413


# Quizzes imported with their pictures (classroom/quiz_bundle.py): ``field`` names the
# picture or the zip entry at fault, as the teacher named it.


class PictureMissing(InvalidPayload):
    """A question names a picture that was not sent with the quiz (``field`` = its name)."""

    code = "PICTURE_MISSING"
    http_status = 400


class PictureUnreadable(InvalidPayload):
    """A picture sent with the quiz is not a readable PNG, JPEG or WebP (``field`` = its name)."""

    code = "PICTURE_UNREADABLE"
    http_status = 400


class QuizBundleInvalid(InvalidPayload):
    """The zip or form holding a quiz and its pictures is broken or unsafe (``field``: where).

    A name leaving the folder, too many or too large files, a zip inside the zip, a name twice.
    """

    code = "QUIZ_BUNDLE_INVALID"
    http_status = 400


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


class NameTaken(Conflict):
    """Another student of the class already has this name."""

    code = "NAME_TAKEN"


class StudentRemoved(Forbidden):
    """The teacher removed this student from the class: their token no longer joins it."""

    code = "STUDENT_REMOVED"


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


# Lessons brought from another school (classroom/library_travel.py): the folder or the
# server they come from is named in the message, and the file at fault.


class ManifestInvalid(ClassroomError):
    """The manifest (or a lesson's events file) is not a library manifest Takhti wrote."""

    code = "MANIFEST_INVALID"
    http_status = 400


class FileMissing(ClassroomError):
    """A file the manifest names is not in the folder (a partial copy)."""

    code = "FILE_MISSING"
    http_status = 400


class FileCorrupt(ClassroomError):
    """A file's size or SHA-256 differs from the manifest's (a truncated or damaged copy)."""

    code = "FILE_CORRUPT"
    http_status = 400


class FileTooLarge(ClassroomError):
    """A declared or actual size is larger than a lesson file may be."""

    code = "FILE_TOO_LARGE"
    http_status = 413


class UnsafePath(ClassroomError):
    """A file is a link or not a regular file inside the folder's files/ directory."""

    code = "UNSAFE_PATH"
    http_status = 400


class TransferCut(ClassroomError):
    """The other server stopped sending; what arrived is kept: run the pull again."""

    code = "TRANSFER_CUT"
    http_status = 502


class InternalError(ClassroomError):
    """An unexpected server error; nothing was applied."""

    code = "INTERNAL"
    http_status = 500


def error_classes() -> list[type[ClassroomError]]:
    """Every error class defined so far (one per code, sorted by code): what clients may see."""
    seen: dict[str, type[ClassroomError]] = {}
    stack: list[type[ClassroomError]] = [ClassroomError]
    while stack:
        cls = stack.pop()
        stack.extend(cls.__subclasses__())
        seen.setdefault(cls.code, cls)
    return [seen[code] for code in sorted(seen)]
