"""The server's own log (not the lesson log, which is ``classroom.log``): format and flood control.

An attack or a broken tablet in a loop can make the same error thousands of times a second:
with descriptors exhausted the server once wrote 2.2 million "Too many open files" lines
(975 MB in 5 minutes), and a bare invalid websocket frame wrote a full traceback each time
(44 MB/min). ``RepeatFilter`` lets the first few of each message through per minute, then
one line saying the rest are held back, and reports how many were when the next one passes.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


@dataclass
class _Seen:
    window_start: float
    passed: int = 0
    announced: bool = False
    held: int = 0


class RepeatFilter(logging.Filter):
    """Pass at most ``burst`` records of one message per ``window_s``; count the rest.

    Records are "the same message" when logger, level, message template and exception type
    match (so ``"%s failed"`` for a thousand different paths counts as one message). The
    record after the burst passes without its traceback and says that more are held back;
    the first record of a later window says how many were. At most ``max_messages``
    distinct messages are remembered (the oldest is forgotten first).
    """

    def __init__(
        self,
        *,
        burst: int = 5,
        window_s: float = 60.0,
        max_messages: int = 2_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__()
        self.burst = burst
        self.window_s = window_s
        self.max_messages = max_messages
        self.clock = clock
        self._seen: OrderedDict[tuple[str, int, str, str], _Seen] = OrderedDict()
        self._lock = threading.Lock()  # records come from worker threads too

    def filter(self, record: logging.LogRecord) -> bool:
        with self._lock:
            return self._filter(record)

    def _filter(self, record: logging.LogRecord) -> bool:
        exc_type = record.exc_info[0].__name__ if record.exc_info and record.exc_info[0] else ""
        key = (record.name, record.levelno, str(record.msg), exc_type)
        now = self.clock()
        seen = self._seen.get(key)
        if seen is None or now - seen.window_start >= self.window_s:
            held = seen.held if seen is not None else 0
            self._remember(key, _Seen(window_start=now, passed=1))
            if held:
                record.msg = f"({held} more like this were held back) {record.getMessage()}"
                record.args = None
            return True
        if seen.passed < self.burst:
            seen.passed += 1
            return True
        if not seen.announced:
            seen.announced = True
            left = max(1, round(seen.window_start + self.window_s - now))
            _one_line(record, f" (repeated; more like this are held back for {left} s)")
            return True
        seen.held += 1
        return False

    def _remember(self, key: tuple[str, int, str, str], seen: _Seen) -> None:
        self._seen[key] = seen
        self._seen.move_to_end(key)
        while len(self._seen) > self.max_messages:
            self._seen.popitem(last=False)


def _one_line(record: logging.LogRecord, suffix: str) -> None:
    """Make ``record`` one short line: its message and ``suffix``, the traceback left out."""
    exc = record.exc_info[1] if record.exc_info else None
    detail = f" [{short_exception(exc)}]" if exc is not None else ""
    record.msg = f"{record.getMessage()}{detail}{suffix}"
    record.args = None
    record.exc_info = None
    record.exc_text = None
    record.stack_info = None


def configure(level: str, *, burst: int = 5, window_s: float = 60.0) -> RepeatFilter:
    """Log to standard error at ``level``, every handler behind one RepeatFilter."""
    logging.basicConfig(level=level, format=FORMAT, force=True)
    repeat = RepeatFilter(burst=burst, window_s=window_s)
    for handler in logging.getLogger().handlers:
        handler.addFilter(repeat)
    return repeat


def short_exception(exc: BaseException) -> str:
    """``Type: message at file:line`` of where it was raised: a traceback in one line."""
    where = ""
    tb = exc.__traceback__
    while tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    if tb is not None:
        code = tb.tb_frame.f_code
        where = f" at {os.path.basename(code.co_filename)}:{tb.tb_lineno} ({code.co_name})"
    return f"{type(exc).__name__}: {str(exc)[:200]}{where}"
