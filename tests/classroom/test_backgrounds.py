"""Uploaded pictures as page backgrounds: upload, use on a page, render, refuse bad files."""

from __future__ import annotations

import io

from PIL import Image

from tests.conftest import Running


def picture(width: int, height: int, colour: tuple[int, int, int], fmt: str = "PNG") -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), colour).save(out, format=fmt)
    return out.getvalue()


async def test_uploaded_picture_becomes_a_page_background(running: Running) -> None:
    cls = await running.new_class()
    class_id = str(cls["class_id"])
    teacher = await running.teacher(class_id)
    status, body = await running.api.request(
        "POST",
        f"/api/classes/{class_id}/images",
        token=running.teacher_token,
        data=picture(3000, 2000, (200, 30, 30), "JPEG"),
    )
    assert status == 201, body
    assert (body["width"], body["height"]) == (1620, 1080)  # scaled to fit the page
    await teacher.ok(
        "page_add", {"page_id": "map", "background": {"kind": "image", "image": body["asset_id"]}}
    )
    status, png = await running.api.request(
        "GET", f"/api/classes/{class_id}/pages/map.png?scale=0.25", token=running.teacher_token
    )
    assert status == 200
    rendered = Image.open(io.BytesIO(png)).convert("RGB")
    r, g, b = rendered.getpixel((rendered.width // 2, rendered.height // 2))
    assert r > 150 and g < 80 and b < 80  # the picture is drawn behind the ink
    status, svg = await running.api.request(
        "GET", f"/api/classes/{class_id}/pages/map.svg", token=running.teacher_token
    )
    assert f"/api/classes/{class_id}/assets/{body['asset_id']}".encode() in svg
    await teacher.disconnect()


async def test_bad_pictures_and_unknown_ids_are_refused(running: Running) -> None:
    cls = await running.new_class()
    class_id = str(cls["class_id"])
    teacher = await running.teacher(class_id)
    url = f"/api/classes/{class_id}/images"
    status, body = await running.api.request(
        "POST", url, token=running.teacher_token, data=b"this is not a picture"
    )
    assert status == 400 and body["error"]["field"] == "file"
    gif = io.BytesIO()
    Image.new("RGB", (10, 10)).save(gif, format="GIF")
    status, body = await running.api.request(
        "POST", url, token=running.teacher_token, data=gif.getvalue()
    )
    assert status == 400 and "PNG, JPEG or WebP" in body["error"]["message"]
    student = await running.api.join(str(cls["join_code"]), "Sami")
    status, body = await running.api.request(
        "POST", url, token=student["token"], data=picture(20, 20, (0, 0, 0))
    )
    assert status == 403
    ack = await teacher.call(
        "page_add",
        {"page_id": "p2", "background": {"kind": "image", "image": "img_never_uploaded"}},
    )
    assert ack["error"]["code"] == "NOT_FOUND" and ack["error"]["field"] == "background.image"
    snapshot = await teacher.ok("class_snapshot")
    assert [p["id"] for p in snapshot["state"]["board"]["pages"]] == ["page-1"]
    await teacher.disconnect()
