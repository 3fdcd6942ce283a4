"""The offline lesson package: one ``lesson.html`` that plays from ``file://``, and its Kolibri zip.

``lesson.html`` holds everything in one file: the player (``classroom/static/package/
player.js``, the replay page's fold and the board's renderer built as one classic script by
``webclient/vite.package.config.ts``), the replay data in the shape the replay page reads
(``/replay/info`` and the events of ``/replay/events``, as the class sees them: a package
travels to anyone, so no ink or answer meant only for the teacher), the voice as one Opus
track, the pictures the board shows, and Noto Nastaliq Urdu cut down to the characters the
lesson and the player use. Nothing is fetched: the data sit in inert ``<script type=...>``
blocks that the player reads, the sound and pictures as base64.

The events (about 6 MB of JSON for a 40-minute lesson) are gzipped before base64 (0.9 MB):
the player unpacks them with the browser's ``DecompressionStream``, or its own inflater
(``webclient/src/package/inflate.ts``) in a browser without one. The voice is decoded,
laid on the programme's clock (:mod:`classroom.export.sound`) and encoded again as one mono
Opus track at :data:`AUDIO_BIT_RATE` (a 40-minute lesson's 3-second segments as stored are
~28 kbit/s plus a container each; one track at 20 kbit/s is ~6 MB, what the 12 MB budget
allows with base64's third on top).

Text from the lesson (titles, typed board text, poll questions) reaches the page only inside
JSON whose ``<``, ``>``, ``&`` and line separators are written as ``\\uXXXX`` escapes, so no
string can close a script block or open a comment; the player puts it in the page as text.

``lesson-kolibri.zip`` is a Kolibri HTML5 app: the same page as ``index.html`` at the zip's
root (no other file, so no path at all), no storage, no navigation.
"""

from __future__ import annotations

import base64
import gzip
import html
import io
import json
import tempfile
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import av
import numpy as np

from classroom.export import ExportOptions, Progress
from classroom.export.files import final_file
from classroom.export.sound import Samples, decode_piece
from classroom.export.source import LessonSource
from classroom.log import Actor

PLAYER_JS = Path(__file__).resolve().parents[1] / "static" / "package" / "player.js"
FONT_DIR = Path("/usr/share/fonts/truetype/noto")
URDU_FONT = "NotoNastaliqUrdu-Regular.ttf"
FONT_FAMILY = "Noto Nastaliq Urdu"
AUDIO_RATE = 48_000
AUDIO_BIT_RATE = 20_000
AUDIO_BLOCK = 960 * 50  # 1 s of samples (whole 20 ms Opus frames)
# What the class sees (the replay page's student view): ink and answers meant for the teacher
# alone stay out of a file that travels.
CLASS_VIEW = Actor("student", "")
# Summary fields a package carries (not the server's replay URL or trim bookkeeping).
SUMMARY_FIELDS = (
    "class_id",
    "title",
    "subject",
    "grade",
    "languages",
    "teacher_name",
    "school",
    "description",
    "created_at",
    "started_at",
    "duration_ms",
    "has_audio",
)
# Written as escapes inside the inline JSON: nothing typed can end a <script> or open <!--.
_JSON_ESCAPES = {
    "<": "\\u003c",
    ">": "\\u003e",
    "&": "\\u0026",
    "\u2028": "\\u2028",
    "\u2029": "\\u2029",
}
_JSON_ESCAPE_TABLE = str.maketrans(_JSON_ESCAPES)


class MissingPart(RuntimeError):
    """The built player or the Urdu font is missing (an install problem, not the lesson's)."""


def inline_json(value: Any) -> str:
    """JSON safe inside an HTML ``<script>`` block: no ``<``, ``>`` or ``&`` left as such."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return text.translate(_JSON_ESCAPE_TABLE)


def class_events(source: LessonSource) -> list[dict[str, Any]]:
    """The programme's events as ``/replay/events`` gives them to the class, in log order.

    Events whose lesson clock (the running max of ``ts``, as the timeline folds) is past the
    programme's end are left out; those before its start stay (the board at the start shows
    them), at clock 0.
    """
    out: list[dict[str, Any]] = []
    clock = 0
    end = source.end_ms
    for event in source.events:
        clock = max(clock, event.ts)
        if clock > end:
            break
        if not event.visible_to(CLASS_VIEW):
            continue
        wire = event.to_wire_for(CLASS_VIEW)
        wire.pop("cid", None)
        out.append(wire)
    return out


def replay_info(source: LessonSource, options: ExportOptions, *, audio_ms: int) -> dict[str, Any]:
    """What ``/replay/info`` answers, for the programme (time 0 is its start)."""
    start, end = source.start_ms, source.end_ms
    summary = source.summary
    chapters = [
        {**c.to_json(), "t_ms": max(0, c.ts - start)}
        for c in source.timeline.chapters
        if c.ts <= end
    ]
    audio = (
        [
            {
                "segment_id": "lesson",
                "url": "",
                "t_ms": 0,
                "duration_ms": audio_ms,
                "container": "webm",
            }
        ]
        if audio_ms
        else []
    )
    return {
        "ok": True,
        "lesson": {key: summary.get(key) for key in SUMMARY_FIELDS},
        "started_at": start,
        "duration_ms": source.duration_ms,
        "head_seq": source.events[-1].seq,
        "chapters": chapters,
        "audio": audio,
        "shared": True,
        "viewer": "student",
        "lang": options.lang,
    }


def _picture_ids(events: list[dict[str, Any]]) -> list[str]:
    wanted: list[str] = []
    for event in events:
        data = event.get("data") or {}
        if event.get("type") == "camera_keyframe_added" and isinstance(data.get("asset_id"), str):
            wanted.append(data["asset_id"])
        for background in (data.get("background"),):
            if isinstance(background, dict) and isinstance(background.get("image"), str):
                wanted.append(background["image"])
    return list(dict.fromkeys(wanted))


def pictures(source: LessonSource, events: list[dict[str, Any]]) -> dict[str, str]:
    """The images the class's board and cards show, by asset id, as data: URIs."""
    out: dict[str, str] = {}
    for asset_id in _picture_ids(events):
        stored = source.assets.get(asset_id)
        if stored is None:
            continue
        kind, data = stored
        if not kind.startswith("image/") or "\n" in kind or ";" in kind:
            kind = "image/jpeg"
        out[asset_id] = f"data:{kind};base64,{base64.b64encode(data).decode('ascii')}"
    return out


def _blocks(source: LessonSource, rate: int) -> Iterator[Samples]:
    """The programme's sound in blocks of :data:`AUDIO_BLOCK` samples, segments decoded as
    the clock reaches them (a 40-minute lesson never sits in memory whole)."""
    total = round(source.duration_ms * rate / 1000)
    pending = sorted(source.audio(), key=lambda p: (p.captured_at_ms, p.segment_id))
    active: list[tuple[int, Samples]] = []
    for lo in range(0, total, AUDIO_BLOCK):
        hi = min(total, lo + AUDIO_BLOCK)
        while pending and round((pending[0].captured_at_ms - source.start_ms) * rate / 1000) < hi:
            piece = pending.pop(0)
            begin = round((piece.captured_at_ms - source.start_ms) * rate / 1000)
            active.append((begin, decode_piece(piece, rate)))
        out = np.zeros(hi - lo, dtype=np.float32)
        for begin, samples in active:
            a, b = max(lo, begin), min(hi, begin + len(samples))
            if b > a:
                out[a - lo : b - lo] += samples[a - begin : b - begin]
        active = [(begin, s) for begin, s in active if begin + len(s) > hi]
        np.clip(out, -1.0, 1.0, out=out)
        yield out


def encode_voice(
    source: LessonSource, progress: Progress, *, bit_rate: int = AUDIO_BIT_RATE
) -> bytes:
    """The programme's voice as one mono Opus WebM track (b"" when the lesson has none)."""
    if not source.audio() or source.duration_ms <= 0:
        return b""
    total = max(1, round(source.duration_ms * AUDIO_RATE / 1000))
    with tempfile.TemporaryDirectory(prefix="takhti-package-") as folder:
        # A real file, so the muxer can go back and write the cues a seek needs.
        path = Path(folder) / "voice.webm"
        # bitexact: no random segment id or date, so the same lesson gives the same bytes
        # (a library copies by content hash).
        with av.open(str(path), "w", format="webm", options={"fflags": "+bitexact"}) as media:
            stream = media.add_stream("libopus", rate=AUDIO_RATE, layout="mono")
            stream.bit_rate = bit_rate
            done = 0
            for block in _blocks(source, AUDIO_RATE):
                frame = av.AudioFrame.from_ndarray(
                    np.ascontiguousarray(block).reshape(1, -1), format="flt", layout="mono"
                )
                frame.sample_rate = AUDIO_RATE
                frame.pts = done
                for packet in stream.encode(frame):
                    media.mux(packet)
                done += len(block)
                progress(0.2 + 0.6 * done / total, "audio")
            for packet in stream.encode(None):
                media.mux(packet)
        return path.read_bytes()


def _player() -> str:
    if not PLAYER_JS.exists():
        raise MissingPart("the package player is not built: (cd webclient && npm run build)")
    code = PLAYER_JS.read_text(encoding="utf-8")
    lowered = code.lower()
    # The script is inlined as it is: it must not contain what would end or bend its block.
    if "</script" in lowered or "<!--" in lowered or "<script" in lowered:
        raise MissingPart("the built player contains a script-closing string")
    return code


def _ui_text(player: str) -> str:
    """Every character the player's strings can show (its Urdu and English, literal or \\u)."""
    escaped = "".join(chr(int(code, 16)) for code in _u_escapes(player))
    return "".join(sorted({c for c in player if ord(c) > 127} | set(escaped)))


def _u_escapes(code: str) -> Iterator[str]:
    at = code.find("\\u")
    while at != -1:
        digits = code[at + 2 : at + 6]
        if len(digits) == 4 and all(c in "0123456789abcdefABCDEF" for c in digits):
            yield digits
        at = code.find("\\u", at + 2)


def _font_path() -> Path:
    path = FONT_DIR / URDU_FONT
    if not path.exists():
        raise MissingPart(f"{path} is missing: apt-get install fonts-noto-core")
    return path


def font_subset(text: str) -> bytes:
    """Noto Nastaliq Urdu cut to ``text``'s characters (WOFF), with every layout feature kept
    (Nastaliq's joining forms and stacking are lookups on those characters)."""
    from fontTools import subset  # an export-time dependency: not loaded by the server
    from fontTools.ttLib import TTFont

    path = _font_path()
    chars = set(text) | {chr(c) for c in range(0x20, 0x7F)} | set("۰۱۲۳۴۵۶۷۸۹×،؟۔")
    font = TTFont(str(path), recalcTimestamp=False)  # the same bytes every time
    options = subset.Options()
    options.flavor = "woff"
    options.layout_features = ["*"]
    subsetter = subset.Subsetter(options)
    subsetter.populate(text="".join(sorted(chars)))
    subsetter.subset(font)
    out = io.BytesIO()
    font.flavor = "woff"
    font.save(out)
    return out.getvalue()


def build_page(
    source: LessonSource, options: ExportOptions, progress: Progress
) -> tuple[str, dict[str, int]]:
    """The whole ``lesson.html`` and the bytes each part takes in it."""
    player = _player()
    _font_path()  # both install problems before any work
    progress(0.0, "board")
    events = class_events(source)
    events_json = json.dumps(events, ensure_ascii=False, separators=(",", ":"))
    events_gz = gzip.compress(events_json.encode(), 9, mtime=0)
    events_b64 = base64.b64encode(events_gz).decode("ascii")
    shown = pictures(source, events)
    progress(0.2, "audio")
    voice = encode_voice(source, progress)
    voice_b64 = base64.b64encode(voice).decode("ascii")
    audio_ms = source.duration_ms if voice else 0
    info = replay_info(source, options, audio_ms=audio_ms)
    info_json = inline_json(info)
    pictures_json = inline_json(shown)
    progress(0.8, "font")
    # Every character of the data (the JSON's own punctuation is ASCII, kept anyway).
    text = "".join(set(events_json) | set(json.dumps(info, ensure_ascii=False))) + _ui_text(player)
    font = base64.b64encode(font_subset(text)).decode("ascii")
    title = html.escape(str(info["lesson"].get("title") or ""), quote=True)
    lang = "ur" if options.lang == "ur" else "en"
    font_css = (
        f'@font-face{{font-family:"{FONT_FAMILY}";font-style:normal;font-weight:400 700;'
        f'font-display:block;src:url(data:font/woff;base64,{font}) format("woff")}}'
    )
    page = (
        "<!doctype html>\n"
        f'<html lang="{lang}" dir="{"rtl" if lang == "ur" else "ltr"}"><head>\n'
        '<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        # No network at all, whatever a string in the data might try: only inline script
        # and style, data:/blob: media and images.
        '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; '
        "script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data: blob:; "
        'media-src data: blob:; font-src data:">\n'
        f"<title>{title}</title>\n"
        f"<style>{font_css}</style>\n"
        "</head><body>\n"
        '<div id="takhti-package"></div>\n'
        f'<script type="application/json" id="takhti-info">{info_json}</script>\n'
        f'<script type="application/json" id="takhti-pictures">{pictures_json}</script>\n'
        f'<script type="application/gzip;base64" id="takhti-events">{events_b64}</script>\n'
        f'<script type="audio/webm;base64" id="takhti-audio">{voice_b64}</script>\n'
        f"<script>{player}</script>\n"
        "</body></html>\n"
    )
    split = {
        "board_data": len(events_b64) + len(info_json),
        "pictures": len(pictures_json),
        "audio": len(voice_b64),
        "audio_raw": len(voice),
        "player": len(player.encode()),
        "font": len(font_css),
        "total": len(page.encode()),
    }
    return page, split


def write_kolibri_zip(page: str, out: Path) -> None:
    """A Kolibri HTML5 app: ``index.html`` at the root, nothing else."""
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=6) as archive:
        info = zipfile.ZipInfo("index.html", date_time=(2020, 1, 1, 0, 0, 0))
        info.compress_type = zipfile.ZIP_DEFLATED
        info.external_attr = 0o644 << 16
        archive.writestr(info, page.encode())


def write_files(page: str, out: Path) -> list[Path]:
    """Write a built page as ``out/lesson.html`` and ``out/lesson-kolibri.zip``."""
    html_path = out / "lesson.html"
    zip_path = out / "lesson-kolibri.zip"
    with final_file(html_path) as temp:
        temp.write_text(page, encoding="utf-8")
    with final_file(zip_path) as temp:
        write_kolibri_zip(page, temp)
    return [html_path, zip_path]


def write(
    source: LessonSource, out: Path, options: ExportOptions, progress: Progress
) -> list[Path]:
    """Write ``out/lesson.html`` and ``out/lesson-kolibri.zip``; return their paths."""
    page, _ = build_page(source, options, progress)
    progress(0.9, "write")
    paths = write_files(page, out)
    progress(1.0, "done")
    return paths
