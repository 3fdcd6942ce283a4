"""``classroom export`` as an operator's script runs it: files, exit status, one-line errors.

Every run is the real command in a child process over a real SQLite store holding a lesson
made by the real feature modules; the disk that fills up is a real file-size limit
(RLIMIT_FSIZE) on the child.
"""

from __future__ import annotations

import asyncio
import json
import resource
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from classroom.classes import ClassRecord
from classroom.errors import QcFailed
from classroom.export.run import parse_formats, qc_passed
from classroom.storage.sqlite import SqliteStore
from testkit.export_lesson import short_lesson
from testkit.lessons import LessonMaker, student
from testkit.long_lesson import store_lesson
from tests.classroom.export.vtt import parse as parse_vtt

LONG_QUESTION = "کیا آپ نے کسور کا یہ سوال سمجھ لیا ہے؟ " * 12  # ~450 characters, ~800 bytes


def run_export(
    *args: str, limit_bytes: int | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    def limit() -> None:
        if limit_bytes is not None:
            resource.setrlimit(resource.RLIMIT_FSIZE, (limit_bytes, limit_bytes))

    return subprocess.run(
        [sys.executable, "-m", "classroom.cli", "export", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        preexec_fn=limit,
    )


async def _store(data_dir: Path, make: Callable[[SqliteStore, Path], object]) -> None:
    db = data_dir / "takhti.sqlite3"
    store = SqliteStore(db)
    await store.open()
    try:
        made = make(store, db)
        if asyncio.iscoroutine(made):
            await made
    finally:
        await store.close()


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    """A store with the short lesson (c_export), a lesson with 100 long-titled polls
    (c_polls: a chapters.vtt of ~90 KB), a class made and never used (c_empty) and one where a
    student only joined (c_joined)."""
    lesson = short_lesson(4.0).source

    def polls_lesson() -> list[object]:
        maker = LessonMaker("c_polls", seed=5)
        pupil = student(1)
        maker.join(pupil)
        for number in range(100):
            maker.stroke(batches=2)
            maker.poll(f"{number + 1}. {LONG_QUESTION}", ["ہاں", "نہیں"], [pupil])
        return list(maker.events)

    async def fill(store: SqliteStore, db: Path) -> None:
        await store_lesson(store, db, list(lesson.events), dict(lesson.assets))
        await store_lesson(store, db, polls_lesson())  # type: ignore[arg-type]
        await store.create_class(ClassRecord("c_empty", "amina", "Never used", "ZZZ999", 1))
        joined = LessonMaker("c_joined", seed=6)
        joined.join(student(1))  # one event, no length: nothing to show
        await store_lesson(store, db, list(joined.events))

    asyncio.run(_store(tmp_path, fill))
    return tmp_path


def _leftovers(folder: Path) -> list[str]:
    """Anything in ``folder`` under a temporary or staging name."""
    return sorted(p.name for p in folder.rglob("*") if p.name.startswith("."))


def test_exports_chapters_with_a_progress_bar(data_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "out" / "fractions"
    done = run_export(
        "c_export", "--format", "chapters", "--out", str(out), "--data-dir", str(data_dir)
    )
    assert done.returncode == 0, done.stderr
    cues = parse_vtt((out / "chapters.vtt").read_text(encoding="utf-8"))
    assert len(cues) >= 3 and cues[0].start_ms == 0
    assert done.stdout.split() == [str(out / "chapters.vtt")]
    assert "100%" in done.stderr and "Traceback" not in done.stderr
    assert _leftovers(out) == []


def test_json_progress_ends_with_the_files(data_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    done = run_export(
        "c_export", "--format", "chapters", "--out", str(out), "--data-dir", str(data_dir),
        "--progress", "json", "--lang", "en",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    assert lines[-1] == {"event": "done", "files": ["chapters.vtt"], "qc": {}}
    fractions = [m["fraction"] for m in lines if m["event"] == "progress"]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0
    assert "Page" in (out / "chapters.vtt").read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["c_nope", "--format", "chapters"], "no class 'c_nope'"),
        (["c_empty", "--format", "chapters"], "nothing to export"),
        (["c_joined", "--format", "chapters"], "no length"),
        (["c_export", "--format", "chapters,mp4"], "unknown format 'mp4'"),
        (["c_export", "--format", ","], "no format given"),
        (["c_export", "--format", "chapters", "--lang", "fr"], "invalid choice: 'fr'"),
        (["c_export", "--format", "chapters", "--frames", "9"], "unrecognized arguments"),
    ],
)
def test_bad_input_is_one_clear_line_and_writes_nothing(
    data_dir: Path, tmp_path: Path, args: list[str], message: str
) -> None:
    out = tmp_path / "out"
    refused = run_export(*args, "--out", str(out), "--data-dir", str(data_dir))
    assert refused.returncode == 2, refused.stderr
    errors = [line for line in refused.stderr.splitlines() if "error:" in line]
    assert len(errors) == 1 and message in errors[0], refused.stderr
    assert "Traceback" not in refused.stderr
    assert not out.exists() or list(out.iterdir()) == []


@pytest.mark.parametrize("where", ["under a file", "read-only file system"])
def test_an_output_folder_that_cannot_be_written_is_refused(
    data_dir: Path, tmp_path: Path, where: str
) -> None:
    (tmp_path / "a-file").write_text("not a folder")
    out = tmp_path / "a-file" / "out" if where == "under a file" else Path("/proc/takhti-out")
    refused = run_export(
        "c_export", "--format", "chapters", "--out", str(out), "--data-dir", str(data_dir)
    )
    assert refused.returncode == 2
    assert (
        refused.stderr.strip()
        .splitlines()[-1]
        .startswith(f"classroom export: error: cannot write to {out}")
    ), refused.stderr
    assert "Traceback" not in refused.stderr


def test_a_disk_that_fills_up_midway_leaves_no_file_under_a_final_name(
    data_dir: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "chapters.vtt").write_text("WEBVTT\n\nan earlier, complete export\n")
    # The store needs its 32 KB shared-memory file; the chapters of 100 long polls do not fit.
    full = run_export(
        "c_polls", "--format", "chapters", "--out", str(out), "--data-dir", str(data_dir),
        limit_bytes=48 * 1024,
    )  # fmt: skip
    assert full.returncode == 1, full.stderr
    last = full.stderr.strip().splitlines()[-1]
    assert last.startswith("classroom export: error: the disk filled up while writing chapters")
    assert "Traceback" not in full.stderr
    assert (out / "chapters.vtt").read_text() == "WEBVTT\n\nan earlier, complete export\n"
    assert _leftovers(out) == []
    # With room, the same export replaces it.
    again = run_export(
        "c_polls", "--format", "chapters", "--out", str(out), "--data-dir", str(data_dir)
    )
    assert again.returncode == 0, again.stderr
    assert (out / "chapters.vtt").stat().st_size > 48 * 1024


def test_formats_are_a_comma_list_in_the_order_given_each_once() -> None:
    assert parse_formats("PDF, chapters,pdf") == ("pdf", "chapters")
    assert parse_formats(["web"]) == ("web",)


@pytest.mark.parametrize(
    ("report", "verdict"),
    [
        ({"passed": True, "checks": [{"name": "fps", "passed": False}]}, True),
        ({"checks": [{"name": "fps", "pass": True}, {"name": "lufs", "pass": False}]}, False),
        ({"checks": {"fps": {"ok": True}, "gop": {"ok": True}}}, True),
        ({"checks": []}, None),
        ({"checks": [{"name": "fps"}]}, None),
        ([], None),
    ],
)
def test_a_qc_report_passes_only_when_it_says_so(report: object, verdict: bool | None) -> None:
    assert qc_passed(report) is verdict
    assert issubclass(QcFailed, Exception)


def test_a_later_format_failing_leaves_none_of_the_earlier_ones(
    data_dir: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    # chapters.vtt (a few hundred bytes) is written; the web ladder's first large segment is
    # not: the run fails and DIR shows nothing of it, not even the chapters that were done.
    full = run_export(
        "c_export", "--format", "chapters,web", "--out", str(out), "--data-dir", str(data_dir),
        limit_bytes=48 * 1024,
    )  # fmt: skip
    assert full.returncode == 1, full.stderr
    assert "the disk filled up while writing web" in full.stderr.strip().splitlines()[-1]
    assert sorted(p.name for p in out.iterdir()) == []
