"""The package writer's files read back as a browser and a decoder would: the inline blocks
parse to the replay page's data, hostile text cannot leave its block, the class view only
(no student's name or vote), the voice decodes on the programme's clock, the font has the
lesson's letters. (Playing it in Chromium: tests/e2e/test_package.py.)"""

from __future__ import annotations

import base64
import gzip
import io
import json
import re
import zipfile
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest
from fontTools.ttLib import TTFont

from boardclient.audio import decode_file
from classroom import export
from classroom.export import ExportOptions, no_progress, package
from classroom.export.source import LessonSource, from_events
from classroom.log import Actor, Event
from testkit.procs import IN_CI
from tests.e2e.package_lesson import BEEPS_S, HOSTILE, HOSTILE_IMG, URDU_TEXT, package_lesson


class Blocks(HTMLParser):
    """Every element's tag and attributes, and each <script>'s text, as the HTML parser sees."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[str] = []
        self.scripts: list[tuple[dict[str, str | None], str]] = []
        self._in_script: dict[str, str | None] | None = None
        self.title = ""
        self._in_title = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        if tag == "script":
            self._in_script = dict(attrs)
            self.scripts.append((self._in_script, ""))
        self._in_title = tag == "title"

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_script = None
        self._in_title = False

    def handle_data(self, data: str) -> None:
        if self._in_script is not None:
            attrs, text = self.scripts[-1]
            self.scripts[-1] = (attrs, text + data)
        elif self._in_title:
            self.title += data


@pytest.fixture(scope="module")
def lesson() -> LessonSource:
    return package_lesson()


@pytest.fixture(scope="module")
def built(lesson: LessonSource, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    if not package.PLAYER_JS.exists():
        message = "the package player is not built: (cd webclient && npm run build)"
        pytest.fail(message) if IN_CI else pytest.skip(message)
    out = tmp_path_factory.mktemp("package")
    stages: list[tuple[float, str]] = []
    paths = export.writer("package")(
        lesson, out, ExportOptions(lang="ur"), lambda f, s: stages.append((f, s))
    )
    assert paths == [out / "lesson.html", out / "lesson-kolibri.zip"]
    fractions = [f for f, _ in stages]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0
    assert sorted(p.name for p in out.iterdir()) == ["lesson-kolibri.zip", "lesson.html"]
    return out, paths[0].read_text(encoding="utf-8")


def _blocks(page: str) -> dict[str, str]:
    parser = Blocks()
    parser.feed(page)
    return {str(attrs.get("id") or "player"): text for attrs, text in parser.scripts}


def test_inline_json_cannot_close_a_script_and_reads_back() -> None:
    value = {"t": HOSTILE + HOSTILE_IMG + "</SCRIPT >&amp;\u2029"}
    text = package.inline_json(value)
    assert "<" not in text and ">" not in text and "&" not in text and "\u2028" not in text
    assert json.loads(text) == value


def test_blocks_parse_to_the_replay_data_and_hostile_text_stays_inside(
    lesson: LessonSource, built: tuple[Path, str]
) -> None:
    _, page = built
    parser = Blocks()
    parser.feed(page)
    # The HTML parser sees exactly the page's five scripts and no element from the data.
    assert [a.get("id") for a, _ in parser.scripts] == [
        "takhti-info",
        "takhti-pictures",
        "takhti-events",
        "takhti-audio",
        None,
    ]
    assert parser.tags.count("img") == 0 and parser.tags.count("script") == 5
    assert parser.title == HOSTILE + " کسریں Fractions"
    blocks = _blocks(page)
    info = json.loads(blocks["takhti-info"])
    assert info["lesson"]["title"] == HOSTILE + " کسریں Fractions"
    assert info["duration_ms"] == lesson.duration_ms
    assert [c["kind"] for c in info["chapters"]] == [c.kind for c in lesson.timeline.chapters]
    assert info["audio"] == [
        {
            "segment_id": "lesson",
            "url": "",
            "t_ms": 0,
            "duration_ms": lesson.duration_ms,
            "container": "webm",
        }
    ]
    events = json.loads(gzip.decompress(base64.b64decode(blocks["takhti-events"])))
    assert events == package.class_events(lesson)
    texts = [e["data"]["text"] for e in events if e["type"] == "text_added"]
    assert texts == [URDU_TEXT, HOSTILE_IMG]
    opened = [e["data"]["question"] for e in events if e["type"] == "poll_opened"]
    assert opened == [HOSTILE + " کتنے؟ How many?"]
    pictures = json.loads(blocks["takhti-pictures"])
    assert len(pictures) == 1 and next(iter(pictures.values())).startswith("data:image/jpeg;")


def test_only_what_the_class_saw(built: tuple[Path, str]) -> None:
    _, page = built
    events = json.loads(gzip.decompress(base64.b64decode(_blocks(page)["takhti-events"])))
    types = {e["type"] for e in events}
    # Students' names (joins) and who voted what are the teacher's, not the package's.
    assert not types & {"student_joined", "student_connected", "poll_voted", "poll_created"}
    text = json.dumps(events, ensure_ascii=False) + _blocks(page)["takhti-info"]
    assert "طالب" not in text and '"s1"' not in text


def test_voice_is_one_opus_track_on_the_programme_clock(
    lesson: LessonSource, built: tuple[Path, str]
) -> None:
    _, page = built
    voice = base64.b64decode(_blocks(page)["takhti-audio"])
    samples = decode_file(io.BytesIO(voice))
    assert abs(len(samples) / 48000 - lesson.duration_ms / 1000) < 0.05
    # The first beep: 0.5 s into the segment that starts 100 ms into the programme.
    rms = [float(np.sqrt(np.mean(samples[i : i + 960] ** 2))) for i in range(0, 48000, 960)]
    loud = [i * 20 for i, r in enumerate(rms) if r > 0.1]
    assert loud and abs(loud[0] - (100 + BEEPS_S[0] * 1000)) <= 40, loud
    # Re-encoded small: at most the bit rate asked for, plus container overhead.
    assert len(voice) * 8 / (lesson.duration_ms / 1000) < package.AUDIO_BIT_RATE * 1.6


def test_font_subset_has_the_lesson_and_player_letters(built: tuple[Path, str]) -> None:
    _, page = built
    head = page[: page.index("</style>")]
    woff = base64.b64decode(head.split("base64,", 1)[1].split(")", 1)[0])
    font = TTFont(io.BytesIO(woff))
    cmap = font.getBestCmap()
    for char in set(URDU_TEXT + "چلائیں" + "ابواب" + "۰۱۲") - {" "}:
        assert ord(char) in cmap, char
    full = TTFont(str(package.FONT_DIR / package.URDU_FONT))
    assert len(cmap) < len(full.getBestCmap()) / 2
    assert len(woff) < 250_000


def test_kolibri_zip_is_the_page_as_index_html(built: tuple[Path, str]) -> None:
    out, page = built
    with zipfile.ZipFile(out / "lesson-kolibri.zip") as archive:
        assert archive.namelist() == ["index.html"]
        assert archive.read("index.html").decode() == page


def test_without_a_built_player_nothing_is_written(
    lesson: LessonSource, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(package, "PLAYER_JS", tmp_path / "missing.js")
    with pytest.raises(package.MissingPart, match="npm run build"):
        package.write(lesson, tmp_path / "out", ExportOptions(), no_progress)
    assert not (tmp_path / "out").exists()


def test_a_player_with_a_script_closing_string_is_refused(
    lesson: LessonSource, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bad = tmp_path / "player.js"
    bad.write_text('console.log("</script>")', encoding="utf-8")
    monkeypatch.setattr(package, "PLAYER_JS", bad)
    with pytest.raises(package.MissingPart, match="script-closing"):
        package.build_page(lesson, ExportOptions(), no_progress)


def test_a_cancel_while_encoding_leaves_nothing(lesson: LessonSource, tmp_path: Path) -> None:
    def progress(fraction: float, stage: str) -> None:
        if stage == "audio" and fraction > 0.2:
            raise export.Cancelled

    with pytest.raises(export.Cancelled):
        package.write(lesson, tmp_path, ExportOptions(), progress)
    assert list(tmp_path.iterdir()) == []


def test_trim_points_make_the_programme(lesson: LessonSource) -> None:
    """Trimmed to 1.0-3.0 s: time 0 is the start trim, nothing after the end, voice cut to fit."""
    last = lesson.events[-1]
    details = Event(
        lesson.class_id,
        last.seq + 1,
        "lesson_details_updated",
        Actor("teacher", "amina", "Ms Amina"),
        last.ts,
        {"title": "کسریں", "trim_start_ms": 1000, "trim_end_ms": 3000},
    )
    trimmed = from_events([*lesson.events, details], record=lesson.record, assets=lesson.assets)
    assert (trimmed.start_ms, trimmed.duration_ms) == (lesson.start_ms + 1000, 2000)
    page, _ = package.build_page(trimmed, ExportOptions(), no_progress)
    blocks = _blocks(page)
    info = json.loads(blocks["takhti-info"])
    assert info["duration_ms"] == 2000 and info["started_at"] == trimmed.start_ms
    assert all(0 <= c["t_ms"] <= 2000 for c in info["chapters"])
    events = json.loads(gzip.decompress(base64.b64decode(blocks["takhti-events"])))
    assert max(e["ts"] for e in events) <= trimmed.end_ms
    assert len(events) < len(package.class_events(lesson))
    samples = decode_file(io.BytesIO(base64.b64decode(blocks["takhti-audio"])))
    assert abs(len(samples) / 48000 - 2.0) < 0.05
    # The second beep (1.5 s into the voice, 1.6 s into the lesson) is 0.6 s into the programme.
    rms = [float(np.sqrt(np.mean(samples[i : i + 960] ** 2))) for i in range(0, 48000, 960)]
    loud = [i * 20 for i, r in enumerate(rms) if r > 0.1]
    assert loud and abs(loud[0] - (100 + BEEPS_S[1] * 1000 - 1000)) <= 40, loud


def test_the_player_is_one_classic_script_that_asks_nothing_of_the_network(
    built: tuple[Path, str],
) -> None:
    player = _blocks(built[1])["player"]
    assert player == package.PLAYER_JS.read_text(encoding="utf-8")
    assert not re.search(r"^\s*(import|export)\s", player, re.MULTILINE)
    for banned in (
        "serviceWorker",
        "fetch(",
        "import(",
        "XMLHttpRequest",
        "WebSocket(",
        "sendBeacon",
        "EventSource",
        "window.open",
        "location.href",
        "document.cookie",
    ):
        assert banned not in player, banned


def test_without_the_urdu_font_the_error_says_what_to_install(
    lesson: LessonSource, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(package, "FONT_DIR", tmp_path)
    with pytest.raises(package.MissingPart, match="fonts-noto-core"):
        package.write(lesson, tmp_path / "out", ExportOptions(), no_progress)
    assert not (tmp_path / "out").exists()


def test_the_same_lesson_gives_the_same_bytes(built: tuple[Path, str], tmp_path: Path) -> None:
    """A library copies lessons by content hash: writing again must not make a new file."""
    out, _ = built
    again = package.write(package_lesson(), tmp_path, ExportOptions(lang="ur"), no_progress)
    for path in again:
        assert path.read_bytes() == (out / path.name).read_bytes(), path.name


def test_the_page_forbids_itself_the_network(built: tuple[Path, str]) -> None:
    _, page = built
    head = page[: page.index("</head>")]
    policy = re.search(r'http-equiv="Content-Security-Policy" content="([^"]+)"', head)
    assert policy is not None
    rules = dict(rule.strip().split(" ", 1) for rule in policy.group(1).split(";"))
    assert rules["default-src"] == "'none'" and "connect-src" not in rules
    assert rules["script-src"] == "'unsafe-inline'"
