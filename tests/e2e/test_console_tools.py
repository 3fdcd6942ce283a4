"""The teacher runs the whole board from the console UI; a student's app ends with the same board.

Every whiteboard tool, colour and width, eraser, undo/redo, clear page, every page operation and
every page background (ruled, grid, an uploaded picture) is driven by clicks; then the teacher
downloads the polls report and ends the class.
"""

from __future__ import annotations

import contextlib
import json
from pathlib import Path
from typing import Any

from PIL import Image

from tests.e2e.conftest import Pages
from tests.e2e.test_classroom import draw, zigzag

BOARD_JS = """() => {
  const b = window.takhti.session.board;
  const item = (i) => {
    const out = {...i, hidden: [...i.hidden].sort()};
    if (i.type === 'stroke') out.pts = [...i.pts];
    return out;
  };
  return {
    order: [...b.order],
    current: b.current,
    pages: b.order.map((id) => {
      const p = b.pages.get(id);
      return {id, background: {kind: p.background.kind, image: p.background.image ?? null},
              items: [...p.items.keys()].sort()};
    }),
    items: [...b.items.values()].map(item).sort((x, y) => x.id.localeCompare(y.id)),
  };
}"""

CANON_JS = """function canon(v) {
  if (Array.isArray(v)) return v.map(canon);
  if (v && typeof v === 'object') return Object.fromEntries(Object.keys(v).sort().map(k => [k, canon(v[k])]));
  return v;
}"""

VISIBLE_JS = """() => window.takhti.session.board.visibleItems()
    .map(i => i.type === 'stroke' ? (i.done ? i.tool : 'open') : i.type === 'shape' ? i.kind : 'text')
    .sort().join(',')"""

PICTURE_RGB = (30, 160, 90)
PIXEL_JS = """([fx, fy]) => {
  const c = document.querySelector('.board-canvas');
  const d = c.getContext('2d').getImageData(Math.floor(c.width * fx), Math.floor(c.height * fy), 1, 1).data;
  return [d[0], d[1], d[2]];
}"""


def near(rgb: list[int], want: tuple[int, int, int]) -> bool:
    """The picture is stored as JPEG: allow a little colour drift."""
    return all(abs(a - b) <= 8 for a, b in zip(rgb, want, strict=True))


async def visible_is(page: Any, expected: str) -> None:
    """Wait until the current page's visible items are exactly ``expected`` (sorted kinds)."""
    await page.wait_for_function(f"({VISIBLE_JS})() === {json.dumps(expected)}", timeout=10_000)


async def confirm(page: Any) -> None:
    await page.click("dialog.confirm .btn.danger")
    await page.wait_for_selector("dialog.confirm", state="detached")


async def visible_board(page: Any) -> dict[str, Any]:
    """The board model without erased/undone items (a snapshot carries no erase history)."""
    board = await page.evaluate(BOARD_JS)
    items = [{**i, "hidden": []} for i in board["items"] if not i["hidden"]]
    pages = [
        {**p, "items": sorted(i["id"] for i in items if i["page"] == p["id"])}
        for p in board["pages"]
    ]
    return {**board, "items": items, "pages": pages}


async def same_board(teacher: Any, student: Any) -> dict[str, Any]:
    """Wait until the student's board model equals the teacher's, and return it."""
    expected: dict[str, Any] = await teacher.evaluate(BOARD_JS)
    # On a timeout the assertion below shows the difference.
    with contextlib.suppress(Exception):
        await student.wait_for_function(
            f"(want) => {{ const c = {CANON_JS}; "
            f"return JSON.stringify(c(({BOARD_JS})())) === JSON.stringify(c(want)); }}",
            arg=expected,
            timeout=10_000,
        )
    assert await student.evaluate(BOARD_JS) == expected
    return expected


async def test_teacher_uses_every_tool_and_page_operation(pages: Pages, tmp_path: Path) -> None:
    teacher, cls = await pages.teacher_console()
    teacher.errors = errors = []
    teacher.on("pageerror", lambda exc: errors.append(str(exc)))
    student = await pages.student(cls["join_code"], "Hina")

    # Pen, then the highlighter in orange at the widest width.
    await draw(teacher, zigzag(0.1))
    await visible_is(teacher, "pen")
    await teacher.click("[data-tool=highlighter]")
    await teacher.click("[data-color='#d35400']")
    await teacher.click("[data-width='16']")
    await draw(teacher, zigzag(0.3))
    await visible_is(teacher, "highlighter,pen")
    # The four shapes, each in another colour or width.
    shapes = [
        ("line", "#1f5fbf", 2, [(0.05, 0.5), (0.3, 0.55)]),
        ("arrow", "#c0392b", 4, [(0.35, 0.5), (0.6, 0.6)]),
        ("rectangle", "#1e8449", 8, [(0.05, 0.7), (0.3, 0.9)]),
        ("ellipse", "#7d3c98", 16, [(0.35, 0.7), (0.6, 0.9)]),
    ]
    for tool, color, width, points in shapes:
        await teacher.click(f"[data-tool={tool}]")
        await teacher.click(f"[data-color='{color}']")
        await teacher.click(f"[data-width='{width}']")
        await draw(teacher, points)
    await visible_is(teacher, "arrow,ellipse,highlighter,line,pen,rectangle")
    # Text: click the board, type, press Enter.
    await teacher.click("[data-tool=text]")
    await teacher.click("[data-color='#1a1a1a']")
    box = await teacher.locator(".board-canvas").bounding_box()
    await teacher.mouse.click(box["x"] + 0.7 * box["width"], box["y"] + 0.6 * box["height"])
    await teacher.fill(".board-text-input", "Photosynthesis")
    await teacher.press(".board-text-input", "Enter")
    await visible_is(teacher, "arrow,ellipse,highlighter,line,pen,rectangle,text")
    shapes_seen = await teacher.evaluate(
        "window.takhti.session.board.visibleItems().filter(i => i.type === 'shape')"
        ".map(i => [i.kind, i.color, i.width])"
    )
    assert sorted(shapes_seen) == sorted([s[0], s[1], s[2]] for s in shapes)
    assert await teacher.evaluate(
        "window.takhti.session.board.visibleItems().filter(i => i.tool === 'highlighter')"
        ".map(i => i.color)"
    ) == ["#d35400"]

    # Eraser across the pen stroke (its first segment crosses x = 0.13), then undo and redo it.
    await teacher.click("[data-tool=eraser]")
    await draw(teacher, [(0.13, 0.05), (0.13, 0.2)])
    all_but_pen = "arrow,ellipse,highlighter,line,rectangle,text"
    await visible_is(teacher, all_but_pen)
    await teacher.click("[data-action=undo]")
    await visible_is(teacher, "arrow,ellipse,highlighter,line,pen,rectangle,text")
    await teacher.click("[data-action=redo]")
    await visible_is(teacher, all_but_pen)
    # Clear the page (after confirming), then undo the clear.
    await teacher.click("[data-action=clear]")
    await confirm(teacher)
    await visible_is(teacher, "")
    await teacher.click("[data-action=undo]")
    await visible_is(teacher, all_but_pen)
    await visible_is(student, all_but_pen)
    await same_board(teacher, student)

    # Pages: add a ruled and a grid page from the panel, a blank one from the page bar.
    await teacher.click("[data-tab=pages]")
    await teacher.click(".pages .row button:text-is('+ Ruled')")
    await teacher.wait_for_function("window.takhti.session.board.order.length === 2")
    await teacher.click(".pages .row button:text-is('+ Grid')")
    await teacher.wait_for_function("window.takhti.session.board.order.length === 3")
    await teacher.click("[data-tool=pen]")
    await draw(teacher, zigzag(0.5, 6))
    await teacher.click("[data-action=add-page]")
    await teacher.wait_for_function("window.takhti.session.board.order.length === 4")
    # The new (fourth) page gets an uploaded picture as its background.
    picture = tmp_path / "leaf.png"
    Image.new("RGB", (320, 180), PICTURE_RGB).save(picture)
    await teacher.set_input_files("#bg-image-file", str(picture))
    await teacher.wait_for_function(
        "window.takhti.session.board.page().background.kind === 'image'", timeout=10_000
    )
    asset = await teacher.evaluate("window.takhti.session.board.page().background.image")
    assert asset
    await draw(teacher, zigzag(0.85, 6))
    await visible_is(teacher, "pen")
    for page in (teacher, student):
        await page.wait_for_function(
            f"document.querySelector('.board-canvas').dataset.backgroundImage === {asset!r}",
            timeout=10_000,
        )
        assert near(await page.evaluate(PIXEL_JS, [0.5, 0.4]), PICTURE_RGB)
    assert (
        await teacher.get_attribute("li.current select option[value=image]", "selected")
    ) is not None

    # Switch pages from the panel (and, at the end, from the page bar).
    await teacher.click(".page-list .page-btn:text-is('Page 1')")
    await student.wait_for_function(
        "window.takhti.session.board.current === window.takhti.session.board.order[0]"
    )
    await visible_is(student, all_but_pen)
    # Change page 1's background with its select: blank -> grid.
    await teacher.select_option("select[aria-label='Background, Page 1']", "grid")
    await teacher.wait_for_function(
        "window.takhti.session.board.pages.get(window.takhti.session.board.order[0])"
        ".background.kind === 'grid'"
    )
    # Reorder: page 1 later, then the picture page (last) earlier.
    before = await teacher.evaluate("[...window.takhti.session.board.order]")
    await teacher.click("[aria-label='Move page 1 later']")
    await teacher.wait_for_function(
        f"window.takhti.session.board.order.join() === {','.join([before[1], before[0], before[2], before[3]])!r}"
    )
    await teacher.click("[aria-label='Move page 4 earlier']")
    after = [before[1], before[0], before[3], before[2]]
    await teacher.wait_for_function(
        f"window.takhti.session.board.order.join() === {','.join(after)!r}"
    )
    # Delete the ruled page (now first), after confirming.
    await teacher.click("[aria-label='Delete page 1']")
    await confirm(teacher)
    await teacher.wait_for_function(
        f"window.takhti.session.board.order.join() === {','.join(after[1:])!r}"
    )
    # Next page from the page bar: end on the picture page.
    assert await teacher.evaluate(f"window.takhti.session.board.current === {before[0]!r}")
    await teacher.click(".pagebar-row .btn[aria-label='Page 2']")
    await teacher.wait_for_function(f"window.takhti.session.board.current === {before[3]!r}")

    state = await same_board(teacher, student)
    assert [p["background"]["kind"] for p in state["pages"]] == ["grid", "image", "grid"]
    assert state["pages"][1]["background"]["image"] == asset
    assert state["current"] == before[3]
    await visible_is(student, "pen")
    await student.wait_for_function(
        f"document.querySelector('.board-canvas').dataset.backgroundImage === {asset!r}"
    )
    assert near(await student.evaluate(PIXEL_JS, [0.5, 0.4]), PICTURE_RGB)

    # A student joining now gets the same board from the snapshot.
    late = await pages.student(cls["join_code"], "Usman")
    assert await visible_board(late) == await visible_board(teacher)
    assert teacher.errors == [] and student.errors == [] and late.errors == []


async def test_teacher_downloads_report_and_ends_class(pages: Pages) -> None:
    teacher, cls = await pages.teacher_console()
    teacher.errors = errors = []
    teacher.on("pageerror", lambda exc: errors.append(str(exc)))
    student = await pages.student(cls["join_code"], "Rabia")
    await teacher.click("[data-tab=polls]")
    await teacher.select_option("select[name=kind]", "single")
    await teacher.fill("input[name=question]", "Which gas do plants take in?")
    await teacher.fill("textarea[name=options]", "Oxygen\nCarbon dioxide")
    await teacher.click(".poll-form button[type=submit]")
    await teacher.click(".poll-item [data-action=open]")
    await student.get_by_role("button", name="Carbon dioxide").click()
    await teacher.wait_for_function(
        "[...document.querySelectorAll('.poll-item .bar-row')].map(r => r.dataset.count).join() === '0,1'"
    )
    await teacher.click(".poll-item [data-action=close]")
    async with teacher.expect_download() as info:
        await teacher.click("[data-report$='polls.csv']")
    download = await info.value
    assert download.suggested_filename == "polls.csv"
    csv_text = Path(await download.path()).read_text(encoding="utf-8-sig")
    assert "Which gas do plants take in?" in csv_text
    assert "Carbon dioxide" in csv_text

    await teacher.click("header .btn.danger")
    await confirm(teacher)
    await student.wait_for_selector(".activity .card.ended", timeout=10_000)
    assert "class has ended" in (await student.inner_text(".activity .card.ended")).lower()
    await teacher.wait_for_selector(".console-board .banner")
    assert await teacher.locator("header .btn.danger").is_disabled()
    assert await student.evaluate("window.takhti.session.ended") is True
    assert teacher.errors == [] and student.errors == []


async def test_a_report_downloaded_in_urdu_has_urdu_headings(pages: Pages) -> None:
    """Issue 15.4: an Urdu teacher's CSV report speaks Urdu (headings, the server's own words)."""
    teacher, cls = await pages.teacher_console(lang="ur")
    teacher.errors = errors = []
    teacher.on("pageerror", lambda exc: errors.append(str(exc)))
    student = await pages.student(cls["join_code"], "رابعہ", lang="ur")
    await teacher.click("[data-tab=polls]")
    await teacher.select_option("select[name=kind]", "yes_no")
    await teacher.fill("input[name=question]", "کیا پودے سانس لیتے ہیں؟")
    await teacher.click(".poll-form button[type=submit]")
    await teacher.click(".poll-item [data-action=open]")
    await student.get_by_role("button", name="ہاں").click()
    await teacher.wait_for_function(
        "[...document.querySelectorAll('.poll-item .bar-row')].map(r => r.dataset.count).join() === '1,0'"
    )
    await teacher.click(".poll-item [data-action=close]")
    async with teacher.expect_download() as info:
        await teacher.click("[data-report$='polls.csv']")
    download = await info.value
    rows = Path(await download.path()).read_text(encoding="utf-8-sig").splitlines()
    assert rows[0] == "طالب علم کی شناخت,نام,کیا پودے سانس لیتے ہیں؟"
    assert rows[1].endswith(",رابعہ,ہاں")
    assert teacher.errors == [] and student.errors == []


TEXT_EXTENT_JS = """() => {
  const ctx = document.createElement('canvas').getContext('2d');
  return window.takhti.session.board.visibleItems().filter(i => i.type === 'text').map(i => {
    ctx.font = `${i.size}px ${i.dir === 'rtl' ? '"Noto Nastaliq Urdu", serif' : 'sans-serif'}`;
    const lines = i.text.split('\\n');
    const width = Math.max(...lines.map(l => ctx.measureText(l).width));
    const left = i.dir === 'rtl' ? i.x - width : i.x;
    return {text: i.text, dir: i.dir, x: i.x, y: i.y, left, right: left + width,
            bottom: i.y + lines.length * i.size * 1.25, lines: lines.length};
  });
}"""


async def test_urdu_text_grows_leftwards_from_the_tap_and_stays_on_the_board(
    pages: Pages,
) -> None:
    """Issue 15.4: Urdu board text starts where the teacher tapped and runs right to left; a
    tap near the left edge or a long sentence never puts text off the board."""
    teacher, _ = await pages.teacher_console(lang="ur")
    await teacher.click("[data-tool=text]")
    canvas = await teacher.locator(".board-canvas").bounding_box()

    async def type_at(fx: float, fy: float, text: str) -> dict[str, Any]:
        x, y = canvas["x"] + fx * canvas["width"], canvas["y"] + fy * canvas["height"]
        await teacher.mouse.click(x, y)
        await teacher.fill(".board-text-input", text)
        # The box the teacher types into sits left of the tap: that is where the text will go.
        typing = await teacher.locator(".board-text-box").bounding_box()
        if fx > 0.3:
            assert abs(typing["x"] + typing["width"] - x) <= 2
        count = len(await teacher.evaluate(TEXT_EXTENT_JS))
        await teacher.press(".board-text-input", "Enter")
        await teacher.wait_for_function(
            f"({TEXT_EXTENT_JS})().length === {count + 1}", timeout=10_000
        )
        return (await teacher.evaluate(TEXT_EXTENT_JS))[-1]

    middle = await type_at(0.6, 0.3, "پانی")
    assert middle["dir"] == "rtl"
    assert abs(middle["x"] - 0.6 * 1920) <= 2  # the tap is the text's right end
    assert abs(middle["y"] - 0.3 * 1080) <= 2
    edge = await type_at(0.02, 0.5, "پودے سورج کی روشنی سے اپنی خوراک بناتے ہیں")
    assert edge["left"] >= 0 and edge["right"] <= 1920, edge
    sentence = "یہ ایک بہت لمبا جملہ ہے جو تختے پر ایک سطر میں نہیں سما سکتا " * 3
    long = await type_at(0.5, 0.9, sentence.strip())
    assert long["lines"] > 1
    assert long["left"] >= 0 and long["right"] <= 1920 and long["bottom"] <= 1080, long
