"""Quizzes imported with their pictures over real HTTP, on SQLite and Redis: a zip, a form of
files, a picture that is missing or unreadable (nothing created, no picture left behind), and
hostile zips refused with QUIZ_BUNDLE_INVALID."""

from __future__ import annotations

import io
import json
import struct
import warnings
import zipfile
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from PIL import Image

from classroom import quiz_bundle
from tests.conftest import Running

SAMPLES = Path(__file__).resolve().parents[2] / "docs" / "samples"
CIRCLE = (SAMPLES / "circle.png").read_bytes()


def png(width: int, height: int, color: tuple[int, int, int] = (200, 30, 30)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), color).save(out, format="PNG")
    return out.getvalue()


def quiz_json(*images: str) -> bytes:
    questions = [
        {"question": f"Which shape is {i}?", "type": "true_false", "correct": True, "image": image}
        for i, image in enumerate(images)
    ]
    questions.append({"question": "No picture here", "type": "true_false", "correct": False})
    return json.dumps({"title": "Shapes", "questions": questions}).encode()


def make_zip(files: list[tuple[str, bytes]], method: int = zipfile.ZIP_DEFLATED) -> bytes:
    out = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zipfile warns about a name written twice
        with zipfile.ZipFile(out, "w", method) as archive:
            for name, data in files:
                archive.writestr(zipfile.ZipInfo(name, (2026, 1, 1, 0, 0, 0)), data, method)
    return out.getvalue()


def expected_asset(name: str, data: bytes) -> str:
    """The asset id the server gives this picture (ids are the re-encoded picture's hash)."""
    bundle = quiz_bundle.from_files("q.json", b"", [(name, data)])
    return quiz_bundle.prepare_picture(bundle, name).asset_id


async def post(running: Running, class_id: str, query: str, data: Any) -> tuple[int, Any]:
    return await running.api.request(
        "POST", f"/api/classes/{class_id}/quizzes{query}", token=running.teacher_token, data=data
    )


def form(quiz: tuple[str, bytes], *pictures: tuple[str, bytes]) -> aiohttp.FormData:
    body = aiohttp.FormData()
    body.add_field("quiz", quiz[1], filename=quiz[0])
    for name, data in pictures:
        body.add_field("picture", data, filename=name, content_type="image/png")
    return body


async def quizzes_of(running: Running, class_id: str) -> list[Any]:
    runtime = await running.services.hub.get(class_id)
    return list(runtime.state.part("quizzes").quizzes.values())


async def fetch_picture(running: Running, class_id: str, asset_id: str) -> Image.Image:
    url = f"{running.url}/api/classes/{class_id}/assets/{asset_id}"
    headers = {"Authorization": f"Bearer {running.teacher_token}"}
    async with running.api.http.get(url, headers=headers) as resp:
        assert resp.status == 200, await resp.text()
        return Image.open(io.BytesIO(await resp.read()))


async def test_the_sample_zip_imports_with_its_picture(running: Running) -> None:
    cls = await running.new_class()
    class_id = str(cls["class_id"])
    status, body = await post(
        running, class_id, "?filename=quiz.zip", (SAMPLES / "quiz.zip").read_bytes()
    )
    assert status == 201, body
    assert body["questions"] == 7
    (quiz,) = await quizzes_of(running, class_id)
    image = quiz.definition.questions[6].image
    assert image == expected_asset("circle.png", CIRCLE)
    assert all(q.image is None for q in quiz.definition.questions[:6])
    shown = await fetch_picture(running, class_id, image)
    assert shown.size == (320, 240)
    # A student of the class sees the picture too (the question opens with its id).
    joined = await running.api.join(str(cls["join_code"]), "Ali")
    url = f"{running.url}/api/classes/{class_id}/assets/{image}?token={joined['token']}"
    async with running.api.http.get(url) as resp:
        assert resp.status == 200 and resp.content_type in ("image/png", "image/jpeg")


async def test_a_zip_of_a_folder_names_pictures_from_the_quiz_file(running: Running) -> None:
    cls = await running.new_class()
    class_id = str(cls["class_id"])
    blue = png(40, 30, (0, 0, 200))
    data = make_zip(
        [
            ("shapes/", b""),
            ("shapes/quiz.json", quiz_json("circle.png", "pictures/blue.png")),
            ("shapes/circle.png", CIRCLE),
            ("shapes/pictures/blue.png", blue),
            ("__MACOSX/shapes/._circle.png", b"\x00\x05\x16\x07 resource fork"),
            ("shapes/readme.md", b"not a picture, never read"),
        ]
    )
    status, body = await post(running, class_id, "", data=_zip_body(data))
    assert status == 201, body
    (quiz,) = await quizzes_of(running, class_id)
    images = [q.image for q in quiz.definition.questions]
    assert images == [expected_asset("c", CIRCLE), expected_asset("b", blue), None]
    assert (await fetch_picture(running, class_id, str(images[1]))).size == (40, 30)


def _zip_body(data: bytes) -> aiohttp.BytesPayload:
    """A zip sent as ``application/zip`` without ``?filename=``."""
    return aiohttp.BytesPayload(data, content_type="application/zip")


async def test_a_form_of_the_quiz_and_several_pictures_imports(running: Running) -> None:
    cls = await running.new_class()
    class_id = str(cls["class_id"])
    square = png(50, 50, (0, 150, 0))
    body = form(
        ("shapes.json", quiz_json("circle.png", "square.png", "circle.png")),
        ("circle.png", CIRCLE),
        ("square.png", square),
        ("unused.png", png(10, 10)),
    )
    status, answer = await post(running, class_id, "", body)
    assert status == 201, answer
    (quiz,) = await quizzes_of(running, class_id)
    circle = expected_asset("circle.png", CIRCLE)
    assert [q.image for q in quiz.definition.questions] == [
        circle,
        expected_asset("square.png", square),
        circle,
        None,
    ]
    # Pictures no question shows are not stored.
    unused = expected_asset("u", png(10, 10))
    assert await running.services.store.get_asset(class_id, unused) is None
    # The form works for the sample files too, and the parse route checks the pictures.
    sample = form(("quiz.yaml", (SAMPLES / "quiz.yaml").read_bytes()), ("circle.png", CIRCLE))
    status, parsed = await running.api.request(
        "POST", f"/api/classes/{class_id}/quizzes/parse", token=running.teacher_token, data=sample
    )
    assert status == 200, parsed
    assert parsed["quiz"]["questions"][6]["image"] == "circle.png"


@pytest.mark.parametrize("route", ["quizzes", "quizzes/parse"])
async def test_a_missing_picture_is_named_and_nothing_is_created(
    running: Running, route: str
) -> None:
    cls = await running.new_class()
    class_id = str(cls["class_id"])
    path = f"/api/classes/{class_id}/{route}"
    attempts: list[tuple[str, Any]] = [
        # The sample quiz alone: its last question shows circle.png.
        ("?filename=quiz.json", (SAMPLES / "quiz.json").read_bytes()),
        # A zip and a form with one picture of the two.
        ("?filename=q.zip", make_zip([("q.json", quiz_json("square.png", "circle.png")),
                                      ("square.png", png(20, 20))])),
        ("", form(("q.json", quiz_json("square.png", "circle.png")), ("square.png", png(20, 20)))),
    ]  # fmt: skip
    for query, data in attempts:
        status, body = await running.api.request(
            "POST", path + query, token=running.teacher_token, data=data
        )
        assert status == 400, body
        assert body["error"]["code"] == "PICTURE_MISSING"
        assert body["error"]["field"] == "circle.png"
        assert "circle.png" in body["error"]["message"]
    assert await quizzes_of(running, class_id) == []
    store = running.services.store
    assert await store.get_asset(class_id, expected_asset("s", png(20, 20))) is None


async def test_an_unreadable_picture_leaves_no_picture_behind(running: Running) -> None:
    cls = await running.new_class()
    class_id = str(cls["class_id"])
    good = png(30, 20)
    for data in (
        make_zip([("q.json", quiz_json("good.png", "bad.png")), ("good.png", good),
                  ("bad.png", good[: len(good) // 2])]),
        make_zip([("q.json", quiz_json("good.png", "bad.png")), ("good.png", good),
                  ("bad.png", b"GIF89a not a picture we read")]),
    ):  # fmt: skip
        status, body = await post(running, class_id, "?filename=q.zip", data)
        assert status == 400, body
        assert body["error"]["code"] == "PICTURE_UNREADABLE"
        assert body["error"]["field"] == "bad.png"
    assert await quizzes_of(running, class_id) == []
    # good.png was decoded and stored before bad.png failed: it was taken back.
    assert await running.services.store.get_asset(class_id, expected_asset("g", good)) is None


async def test_a_quiz_refused_after_its_pictures_were_stored_takes_them_back(
    running: Running,
) -> None:
    cls = await running.new_class()
    class_id = str(cls["class_id"])
    teacher = await running.teacher(class_id)
    await teacher.ok("class_end", {})
    status, body = await post(
        running, class_id, "?filename=quiz.zip", (SAMPLES / "quiz.zip").read_bytes()
    )
    assert status == 409, body
    assert body["error"]["code"] == "CLASS_ENDED"
    assert await quizzes_of(running, class_id) == []
    circle = expected_asset("circle.png", CIRCLE)
    assert await running.services.store.get_asset(class_id, circle) is None


async def test_a_retry_with_the_same_key_answers_the_first_import(running: Running) -> None:
    cls = await running.new_class()
    class_id = str(cls["class_id"])
    url = f"{running.url}/api/classes/{class_id}/quizzes?filename=quiz.zip"
    headers = {
        "Authorization": f"Bearer {running.teacher_token}",
        "Idempotency-Key": "import-1",
    }
    answers = []
    for _ in range(2):
        async with running.api.http.post(
            url, data=(SAMPLES / "quiz.zip").read_bytes(), headers=headers
        ) as resp:
            answers.append((resp.status, await resp.json()))
    assert [status for status, _ in answers] == [201, 200]
    assert answers[0][1]["quiz_id"] == answers[1][1]["quiz_id"]
    assert len(await quizzes_of(running, class_id)) == 1
    circle = expected_asset("circle.png", CIRCLE)
    assert await running.services.store.get_asset(class_id, circle) is not None


# --- hostile zips ---------------------------------------------------------------------------

QUIZ = quiz_json("circle.png")


def _lying_sizes() -> bytes:
    """A zip whose headers say 100 bytes for 20 MB of zeros (zipfile stops at 100 and the
    CRC then fails; a reader trusting the header would be fine too: the point is neither
    reads 20 MB into memory unasked)."""
    data = bytearray(make_zip([("q.json", QUIZ), ("circle.png", bytes(20_000_000))]))
    # (signature, offset of the uncompressed size, of the name's length, of the name)
    for signature, size_at, length_at, name_offset in (
        (b"PK\x03\x04", 22, 26, 30),
        (b"PK\x01\x02", 24, 28, 46),
    ):
        start = 0
        while (at := data.find(signature, start)) >= 0:
            name_len = struct.unpack_from("<H", data, at + length_at)[0]
            name_at = at + name_offset
            if bytes(data[name_at : name_at + name_len]) == b"circle.png":
                struct.pack_into("<I", data, at + size_at, 100)
            start = at + 4
    return bytes(data)


def _lying_count() -> bytes:
    """An end record that claims 2 entries for a central directory of 5,000."""
    data = bytearray(make_zip([("q.json", QUIZ)] + [(f"f{i}.png", b"") for i in range(5000)]))
    end = data.rfind(b"PK\x05\x06")
    struct.pack_into("<HH", data, end + 8, 2, 2)
    return bytes(data)


HOSTILE_ZIPS: dict[str, Any] = {
    "dot-dot": lambda: make_zip([("q.json", QUIZ), ("../circle.png", CIRCLE)]),
    "dot-dot-inside": lambda: make_zip([("q.json", QUIZ), ("a/../../circle.png", CIRCLE)]),
    "absolute": lambda: make_zip([("q.json", QUIZ), ("/etc/circle.png", CIRCLE)]),
    "drive": lambda: make_zip([("q.json", QUIZ), ("C:/circle.png", CIRCLE)]),
    "backslash": lambda: make_zip([("q.json", QUIZ), ("..\\circle.png", CIRCLE)]),
    "too-many-entries": lambda: make_zip(
        [("q.json", QUIZ), ("circle.png", CIRCLE)] + [(f"x{i}.png", b"") for i in range(200)]
    ),
    "lying-count": _lying_count,
    "one-huge-entry": lambda: make_zip([("q.json", QUIZ), ("circle.png", bytes(40_000_000))]),
    "sum-too-large": lambda: make_zip(
        [("q.json", QUIZ), ("circle.png", CIRCLE)]
        + [(f"p{i}.png", bytes(7_000_000)) for i in range(5)]
    ),
    "lying-sizes": _lying_sizes,
    "nested-zip-name": lambda: make_zip([("q.json", QUIZ), ("circle.png", CIRCLE),
                                         ("more.zip", make_zip([("a.png", CIRCLE)]))]),
    "nested-zip-content": lambda: make_zip([("q.json", QUIZ),
                                            ("circle.png", make_zip([("c.png", CIRCLE)]))]),
    "duplicate-names": lambda: make_zip([("q.json", QUIZ), ("circle.png", CIRCLE),
                                         ("circle.png", png(9, 9))]),
    "bzip2": lambda: make_zip([("q.json", QUIZ), ("circle.png", CIRCLE)], zipfile.ZIP_BZIP2),
    "two-quiz-files": lambda: make_zip([("q.json", QUIZ), ("r.yaml", b"[]"),
                                        ("circle.png", CIRCLE)]),
    "not-a-zip": lambda: b"PK\x03\x04 this is not really a zip" * 10,
    "truncated": lambda: (SAMPLES / "quiz.zip").read_bytes()[:-30],
}  # fmt: skip


@pytest.mark.parametrize("case", sorted(HOSTILE_ZIPS))
async def test_hostile_zips_are_refused_and_change_nothing(running: Running, case: str) -> None:
    cls = await running.new_class()
    class_id = str(cls["class_id"])
    data = HOSTILE_ZIPS[case]()
    assert len(data) < quiz_bundle.MAX_BUNDLE_BYTES
    status, body = await post(running, class_id, "?filename=quiz.zip", data)
    assert status == 400, body
    assert body["error"]["code"] == "QUIZ_BUNDLE_INVALID", body
    assert len(body["error"]["message"]) < 500
    assert await quizzes_of(running, class_id) == []
    assert await running.services.store.get_asset(class_id, expected_asset("c", CIRCLE)) is None
    assert (await running.api.request("GET", "/healthz"))[0] == 200


def raw_form(parts: list[tuple[str, str, bytes, dict[str, str]]]) -> aiohttp.BytesPayload:
    """A multipart form written by hand: (field, file name, bytes, extra part headers)."""
    boundary = "takhti-test-boundary"
    out = b""
    for field_name, filename, data, extra in parts:
        head = f'Content-Disposition: form-data; name="{field_name}"; filename="{filename}"\r\n'
        head += "".join(f"{key}: {value}\r\n" for key, value in extra.items())
        out += f"--{boundary}\r\n{head}\r\n".encode() + data + b"\r\n"
    out += f"--{boundary}--\r\n".encode()
    return aiohttp.BytesPayload(out, content_type=f"multipart/form-data; boundary={boundary}")


HOSTILE_FORMS: dict[str, list[tuple[str, str, bytes, dict[str, str]]]] = {
    "duplicate-pictures": [("quiz", "q.json", QUIZ, {}), ("picture", "circle.png", CIRCLE, {}),
                           ("picture", "circle.png", png(9, 9), {})],
    "two-quizzes": [("quiz", "q.json", QUIZ, {}), ("quiz", "r.json", QUIZ, {}),
                    ("picture", "circle.png", CIRCLE, {})],
    "gzip-encoded": [("quiz", "q.json", QUIZ, {}),
                     ("picture", "circle.png", CIRCLE, {"Content-Encoding": "gzip"})],
    "base64-encoded": [("quiz", "q.json", QUIZ, {}),
                       ("picture", "circle.png", CIRCLE, {"Content-Transfer-Encoding": "base64"})],
    "no-quiz": [("picture", "circle.png", CIRCLE, {})],
    "unknown-part": [("quiz", "q.json", QUIZ, {}), ("picture", "circle.png", CIRCLE, {}),
                     ("extra", "x.bin", b"x", {})],
    "traversal-name": [("quiz", "q.json", quiz_json("../circle.png"), {}),
                       ("picture", "../circle.png", CIRCLE, {})],
    "too-many-parts": [("quiz", "q.json", QUIZ, {}), ("picture", "circle.png", CIRCLE, {})]
    + [("picture", f"x{i}.png", b"", {}) for i in range(200)],
}  # fmt: skip


@pytest.mark.parametrize("case", sorted(HOSTILE_FORMS))
async def test_hostile_forms_are_refused_and_change_nothing(running: Running, case: str) -> None:
    cls = await running.new_class()
    class_id = str(cls["class_id"])
    status, answer = await post(running, class_id, "", raw_form(HOSTILE_FORMS[case]))
    assert status == 400, answer
    assert answer["error"]["code"] == "QUIZ_BUNDLE_INVALID", answer
    assert await quizzes_of(running, class_id) == []
    assert await running.services.store.get_asset(class_id, expected_asset("c", CIRCLE)) is None


async def test_a_broken_form_is_refused(running: Running) -> None:
    cls = await running.new_class()
    broken = aiohttp.BytesPayload(
        b"--nope\r\nContent-Disposition: form-data\r\n\r\nxx",
        content_type="multipart/form-data; boundary=other",
    )
    status, answer = await post(running, str(cls["class_id"]), "", broken)
    assert status == 400, answer
    assert answer["error"]["code"] == "QUIZ_BUNDLE_INVALID", answer
    assert (await running.api.request("GET", "/healthz"))[0] == 200


async def test_a_quiz_made_over_the_socket_may_show_only_pictures_the_class_has(
    running: Running,
) -> None:
    """``quiz_create`` from a client of the protocol: a picture name never uploaded is
    PICTURE_MISSING (students would see a broken picture) and nothing is logged; the id of a
    picture the class stored is taken."""
    cls = await running.new_class()
    class_id = str(cls["class_id"])
    teacher = await running.teacher(class_id)
    quiz = {
        "title": "Shapes",
        "questions": [
            {
                "type": "single",
                "question": "Which shape?",
                "options": ["circle", "square"],
                "correct": [0],
                "image": "circle.png",
            }
        ],
    }
    before = (await teacher.ok("class_snapshot"))["seq"]
    ack = await teacher.call("quiz_create", {"quiz": quiz})
    assert ack["error"]["code"] == "PICTURE_MISSING", ack
    assert ack["error"]["field"] == "circle.png"
    assert (await teacher.ok("class_snapshot"))["seq"] == before
    status, body = await post(
        running, class_id, "?filename=quiz.zip", (SAMPLES / "quiz.zip").read_bytes()
    )
    assert status == 201, body
    stored = expected_asset("circle.png", CIRCLE)
    quiz["questions"][0]["image"] = stored
    made = await teacher.ok("quiz_create", {"quiz": quiz})
    assert made["questions"] == 1
    await teacher.disconnect()
