"""Pictures people send (page backgrounds, camera views): checked, bounded, decoded off the loop.

Every picture is fully decoded once when it arrives, so a truncated or hostile file is refused
then and never stored. Decoding runs in one worker thread, one picture at a time: six
40-megapixel PNGs decoded at once took the server to 1 GB, and with one thread per decode
glibc kept each thread's arena, so the memory never came back. Pictures waiting for the
worker are bounded too (``Decoder``); past that the sender is told to retry (``BUSY``).

Limits: an uploaded background may have up to ``MAX_UPLOAD_PIXELS`` (40 megapixels, e.g.
8000 x 5000) and is scaled to fit the 1920 x 1080 page; a camera picture is at most
4096 x 4096 (the protocol's ``MAX_SIDE``). A background is decoded into at most
``BACKGROUND_DECODE_PIXELS`` (12 megapixels, ~48 MB): a JPEG decodes straight at a reduced
scale (``draft``), but PNG and WebP can only be decoded whole, so one larger than that is
refused (``PICTURE_TOO_LARGE``) from its header, before anything is decoded. Six 40-megapixel
PNGs decoded one after the other still took the server from 112 to 325 MB (bench/abuse.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import ctypes.util
import functools
import io
import os
import threading
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Final, TypeVar

from PIL import Image

from classroom.errors import Busy, InvalidPayload, PictureTooLarge

T = TypeVar("T")

MAX_UPLOAD_PIXELS: Final = 40_000_000
# The most pixels a background is decoded into (after a JPEG's reduced-scale decode).
BACKGROUND_DECODE_PIXELS: Final = 12_000_000
BACKGROUND_MAX_SIZE: Final = (1920, 1080)
# Pictures queued behind the one being decoded, before senders are told to retry.
MAX_WAITING: Final = 4
PILLOW_FORMATS: Final = ("PNG", "JPEG", "WEBP")


def decode(
    data: bytes,
    *,
    field: str,
    max_pixels: int,
    draft: tuple[int, int] | None = None,
    decode_pixels: int | None = None,
) -> Image.Image:
    """Decode every pixel of a PNG, JPEG or WebP picture, or raise InvalidPayload.

    The header is read first and the pixel count checked before anything is decoded, so a
    file claiming 20000 x 20000 costs nothing. ``draft`` lets a JPEG decode straight at a
    reduced scale no smaller than that size (8x less memory for a big photo). A picture that
    would still decode into more than ``decode_pixels`` is refused (PictureTooLarge) before
    it is decoded.
    """
    try:
        picture = Image.open(io.BytesIO(data), formats=PILLOW_FORMATS)
    except Image.DecompressionBombError:
        raise InvalidPayload("the picture has too many pixels", field=field) from None
    except Exception as exc:  # Pillow's readers raise many kinds on broken input
        raise InvalidPayload(
            "the file is not a readable PNG, JPEG or WebP picture", field=field
        ) from exc
    if picture.width * picture.height > max_pixels:
        picture.close()
        raise InvalidPayload(
            f"the picture has {picture.width} x {picture.height} pixels; "
            f"the limit is {max_pixels:,}",
            field=field,
        )
    try:
        if draft is not None and picture.format == "JPEG":
            picture.draft("RGB", draft)
    except Exception as exc:
        picture.close()
        raise InvalidPayload("the picture is damaged or incomplete", field=field) from exc
    if decode_pixels is not None and picture.width * picture.height > decode_pixels:
        width, height = picture.size
        kind = picture.format
        picture.close()
        raise PictureTooLarge(
            f"the {kind} picture has {width} x {height} pixels; the server decodes at most "
            f"{decode_pixels:,} (save it smaller, or as JPEG: up to {max_pixels:,})",
            field=field,
        )
    try:
        picture.load()
    except Exception as exc:  # truncated data, oversized text chunks, bad compression
        picture.close()
        raise InvalidPayload("the picture is damaged or incomplete", field=field) from exc
    return picture


def normalise_background(data: bytes) -> tuple[str, bytes, tuple[int, int]]:
    """An uploaded picture scaled to fit the page and re-encoded without its metadata.

    Returns the content type (PNG when it has transparency, else JPEG), the bytes, and the
    size in pixels.
    """
    picture = decode(
        data,
        field="file",
        max_pixels=MAX_UPLOAD_PIXELS,
        draft=BACKGROUND_MAX_SIZE,
        decode_pixels=BACKGROUND_DECODE_PIXELS,
    )
    mode = "RGBA" if picture.mode in ("RGBA", "LA", "P", "PA") else "RGB"
    if picture.mode in ("P", "PA", "1"):
        picture = picture.convert(mode)  # palette pictures only scale by nearest neighbour
    # Scaled before converting: converting 40 megapixels first doubled the peak memory.
    picture.thumbnail(BACKGROUND_MAX_SIZE)
    if picture.mode != mode:
        picture = picture.convert(mode)
    out = io.BytesIO()
    if picture.mode == "RGBA":
        picture.save(out, format="PNG", optimize=True)
        return "image/png", out.getvalue(), picture.size
    picture.save(out, format="JPEG", quality=85)
    return "image/jpeg", out.getvalue(), picture.size


class Decoder:
    """Runs picture work in one worker thread (at a lower priority than the event loop's),
    with a bounded queue in front of it.

    ``async with decoder.slot():`` admits a caller (or raises Busy when ``max_waiting``
    pictures are already queued); inside, ``await decoder.run(fn, ...)`` runs ``fn`` on the
    worker. Take the slot before reading a large body, so queued bodies are bounded as well.
    """

    def __init__(self, *, max_waiting: int = MAX_WAITING) -> None:
        self.max_waiting = max_waiting
        self._admitted = 0
        self._executor = ThreadPoolExecutor(
            max_workers=1, thread_name_prefix="pictures", initializer=_lower_priority
        )

    @property
    def admitted(self) -> int:
        """Callers holding a slot: the one being decoded and those waiting."""
        return self._admitted

    @contextlib.asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        if self._admitted > self.max_waiting:
            raise Busy("the server is busy with other pictures; try again in a moment")
        self._admitted += 1
        try:
            yield
        finally:
            self._admitted -= 1

    async def run(self, fn: Callable[..., T], *args: object) -> T:
        """``fn(*args)`` on the worker thread; memory it freed goes back to the system."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, _then_trim, fn, args)

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)


# How much the worker thread yields to the event loop's thread (a nice value; Linux gives each
# thread its own): six 12-megapixel PNGs decoded one after the other compete with the live
# class for the same two cores.
WORKER_NICENESS: Final = 10


def _lower_priority() -> None:
    with contextlib.suppress(AttributeError, OSError):  # not Linux: threads share the value
        thread = threading.get_native_id()
        os.setpriority(
            os.PRIO_PROCESS, thread, os.getpriority(os.PRIO_PROCESS, thread) + WORKER_NICENESS
        )


def _then_trim(fn: Callable[..., T], args: tuple[object, ...]) -> T:
    try:
        return fn(*args)
    finally:
        _return_free_memory()


@functools.cache
def _malloc_trim() -> Callable[[int], int] | None:
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    try:
        trim = ctypes.CDLL(name).malloc_trim
    except (OSError, AttributeError):  # not glibc (musl, macOS): nothing to trim
        return None
    trim.argtypes = [ctypes.c_size_t]
    trim.restype = ctypes.c_int
    return trim


def _return_free_memory() -> None:
    """Give freed heap pages back to the system (glibc keeps them otherwise: after six big
    decodes RSS stayed at 1 GB)."""
    trim = _malloc_trim()
    if trim is not None:
        trim(0)
