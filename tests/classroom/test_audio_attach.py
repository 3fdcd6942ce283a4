"""`classroom lesson audio`: a phone's recording attached to a lesson, on the lesson's clock."""

from __future__ import annotations

import io
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from boardclient.audio import SAMPLE_RATE, decode_file
from classroom import board
from classroom.storage import open_store
from testkit.audio import beeps, onsets_s, write_wav
from testkit.procs import ROOT
from tests.conftest import Running


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "classroom.cli", *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )


async def _segments(store_url: str, data_dir: Path, class_id: str) -> list[dict[str, Any]]:
    store = open_store(store_url, data_dir=data_dir)
    await store.open()
    try:
        events = await store.read_after(class_id, 0, 10_000)
        found = []
        for event in events:
            if event.type == "audio_added":
                asset = await store.get_asset(class_id, event.data["asset_id"])
                assert asset is not None
                found.append({**event.data, "by": event.actor.role, "bytes": asset[1]})
        return found
    finally:
        await store.close()


async def test_attach_a_recording_at_the_first_event_again_and_at_a_given_time(
    running_sqlite: Running, tmp_path: Path
) -> None:
    running = running_sqlite
    cls = await running.new_class()
    class_id = str(cls["class_id"])
    teacher = await running.teacher(class_id)
    await teacher.ok(
        "stroke_start",
        {
            "stroke_id": "s1",
            "page_id": board.FIRST_PAGE_ID,
            "tool": "pen",
            "color": "#000000",
            "width": 3,
            "points": [[10.0, 10.0, 0.5, 0.0]],
        },
    )
    await teacher.disconnect()
    first_ts = (await running.services.store.read_after(class_id, 0, 1))[0].ts
    store_url = f"sqlite://{tmp_path / 'takhti.sqlite3'}"
    flags = ["--store", store_url, "--data-dir", str(tmp_path)]
    phone = write_wav(tmp_path / "phone.wav", beeps(6.0, [1.0, 5.5], rate=44_100), rate=44_100)

    done = _cli("lesson", "audio", class_id, str(phone), *flags)
    assert done.returncode == 0, done.stderr
    assert "2 new segments of 2" in done.stdout
    segments = await _segments(store_url, tmp_path, class_id)
    assert [s["captured_at_ms"] - first_ts for s in segments] == [0, 5000]
    assert [s["duration_ms"] for s in segments] == [5000, 1000]
    assert {s["by"] for s in segments} == {"teacher"}
    # The beeps are where they were in the recording, counted from the first event.
    heard = np.concatenate([decode_file(io.BytesIO(s["bytes"])) for s in segments])
    assert np.allclose(onsets_s(heard, rate=SAMPLE_RATE), [1.0, 5.5], atol=0.02)

    again = _cli("lesson", "audio", class_id, str(phone), *flags)
    assert again.returncode == 0 and "0 new segments of 2" in again.stdout
    assert len(await _segments(store_url, tmp_path, class_id)) == 2

    start = datetime.fromtimestamp((first_ts - 60_000) / 1000, UTC).isoformat()
    at = _cli("lesson", "audio", class_id, str(phone), "--starts-at", start, *flags)
    assert at.returncode == 0, at.stderr
    later = [s for s in await _segments(store_url, tmp_path, class_id)][2:]
    assert [s["captured_at_ms"] - first_ts for s in later] == [-60_000, -55_000]

    shifted = _cli("lesson", "audio", class_id, str(phone), "--offset-ms", "-2000", *flags)
    assert shifted.returncode == 0, shifted.stderr
    last = (await _segments(store_url, tmp_path, class_id))[4:]
    assert [s["captured_at_ms"] - first_ts for s in last] == [-2000, 3000]


async def test_attach_errors_are_clear_and_change_nothing(
    running_sqlite: Running, tmp_path: Path
) -> None:
    cls = await running_sqlite.new_class()
    class_id = str(cls["class_id"])
    store_url = f"sqlite://{tmp_path / 'takhti.sqlite3'}"
    flags = ["--store", store_url, "--data-dir", str(tmp_path)]
    phone = write_wav(tmp_path / "phone.wav", beeps(1.0, [0.5]))
    text = tmp_path / "notes.txt"
    text.write_text("not a recording\n")

    cases = [
        (["lesson", "audio", "c-nope", str(phone)], "no class"),
        (["lesson", "audio", class_id, str(tmp_path / "missing.wav")], "no such file"),
        (["lesson", "audio", class_id, str(text)], "cannot read audio"),
        (["lesson", "audio", class_id, str(phone), "--starts-at", "yesterday"], "ISO 8601"),
        (
            ["lesson", "audio", class_id, str(phone), "--starts-at", "2001-01-01T00:00:00Z"],
            "long before the class",
        ),
    ]
    for args, message in cases:
        result = _cli(*args, *flags)
        assert result.returncode == 2, (args, result.stdout, result.stderr)
        assert message in result.stderr, (args, result.stderr)
        assert "Traceback" not in result.stderr
    both = _cli("lesson", "audio", class_id, str(phone), "--starts-at", "x", "--offset-ms", "1")
    assert both.returncode == 2 and "not allowed with" in both.stderr
    assert await _segments(store_url, tmp_path, class_id) == []
