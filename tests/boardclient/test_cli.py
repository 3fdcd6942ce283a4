from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from boardclient.cli import main
from boardclient.record import RecordingIndex, read_index
from testkit.synth import make_board_photo, make_board_video


def test_help_works(capsys: pytest.CaptureFixture[str]) -> None:
    for argv in (["--help"], ["scan", "--help"], ["record", "--help"]):
        with pytest.raises(SystemExit) as exc:
            main(argv)
        assert exc.value.code == 0
    assert "--out-dir" in capsys.readouterr().out


def test_scan_writes_png_and_json_and_reports_bad_inputs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good = make_board_photo(20017)
    cv2.imwrite(str(tmp_path / "lesson.jpg"), good.image)
    (tmp_path / "broken.jpg").write_bytes(b"not a jpeg")
    out = tmp_path / "out"
    status = main(
        ["scan", str(tmp_path / "broken.jpg"), str(tmp_path / "lesson.jpg"), "--out-dir", str(out)]
    )
    assert status != 0
    assert "broken.jpg" in capsys.readouterr().err
    info = json.loads((out / "lesson.json").read_text())
    assert info["kind"] == good.kind
    corners = np.array(info["corners"])
    assert corners.shape == (4, 2)
    assert np.abs(corners - good.corners).max() < 5
    assert 0 < info["confidence"] <= 1
    board = cv2.imread(str(out / "lesson.png"))
    assert board is not None and board.shape[1] > board.shape[0]
    assert not (out / "broken.png").exists()


def test_record_an_image_folder(tmp_path: Path) -> None:
    video = make_board_video(4, size=(640, 360), fps=2)
    frames = tmp_path / "frames"
    frames.mkdir()
    for i in range(video.n_frames):
        cv2.imwrite(str(frames / f"{i:05d}.jpg"), video.frame(i))
    out = tmp_path / "rec"
    assert main(["record", "--source", str(frames), "--out", str(out), "--fps", "2"]) == 0
    entries = read_index(out / "index.jsonl")
    assert entries[0]["type"] == "board"
    keyframes = [e for e in entries if e["type"] == "keyframe"]
    assert [e["reason"] for e in keyframes][-1] == "end"
    assert len(keyframes) >= 2
    for e in keyframes:
        assert cv2.imread(str(out / e["file"])) is not None
    assert (out / "board.png").exists()


def test_a_torn_last_index_line_loses_only_that_entry(tmp_path: Path) -> None:
    path = tmp_path / "index.jsonl"
    with RecordingIndex(path) as index:
        index.append({"type": "keyframe", "file": "keyframes/0001.png", "t": 1.0})
    with open(path, "a") as f:
        f.write('{"type": "keyfr')  # killed mid-write
    assert read_index(path) == [{"type": "keyframe", "file": "keyframes/0001.png", "t": 1.0}]


def test_record_reports_a_missing_source(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status = main(["record", "--source", str(tmp_path / "nope.mp4"), "--out", str(tmp_path / "o")])
    assert status == 1
    assert "cannot open" in capsys.readouterr().err


def test_run_refuses_a_missing_token_and_a_bad_server_address(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("BOARDCLIENT_TOKEN", raising=False)
    status = main(["run", "--source", str(tmp_path), "--server", "http://127.0.0.1:9"])
    assert status == 2 and "--token" in capsys.readouterr().err
    status = main(
        ["run", "--source", str(tmp_path), "--server", "192.168.1.10:8080", "--token", "t"]
    )
    assert status == 2 and "http://" in capsys.readouterr().err


def test_run_with_a_microphone_that_cannot_be_opened_says_so_before_starting(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["run", "--server", "http://127.0.0.1:9", "--token", "t", "--out", str(tmp_path)]
    assert main([*args, "--audio", "7"]) == 1
    err = capsys.readouterr().err
    # Here there is no PortAudio (or no such device); either way one clear line.
    assert "PortAudio is not installed" in err or "cannot open microphone" in err
    assert "Traceback" not in err
    assert main([*args, "--audio", str(tmp_path / "missing.wav")]) == 1
    assert "no such audio file" in capsys.readouterr().err
    assert main(["run", "--server", "http://127.0.0.1:9", "--token", "t"]) == 2
    assert "--source" in capsys.readouterr().err
