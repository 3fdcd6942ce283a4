"""Accessibility basics (issue 5, must-show item 7) in a real browser against a real server.

* Keyboard: every visible control of the teacher console and the student app is reached by
  pressing Tab (none is taken out of the tab order), shows a focus ring when reached, and the
  main actions (join, create and open a poll, vote) work with the keyboard alone.
* Screen readers: every control has a non-empty accessible name, as Chromium computes it
  (the accessibility tree, read over the DevTools protocol).
* Contrast: every piece of visible text meets WCAG AA (4.5:1, 3:1 for large text) against the
  background it is actually painted on, in English and in Urdu.
* Charts: a poll's live chart writes each option and its count as text; colour is never the
  only carrier (the bars are decorative and hidden from screen readers, and patterned).
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.conftest import Pages, online

INTERACTIVE = (
    "a[href], button, input, select, textarea, [tabindex], [contenteditable=''],"
    " [contenteditable=true], [role=button], [role=link], [role=tab], [role=checkbox]"
)

MARK_JS = """(selector) => {
  for (const el of document.querySelectorAll('[data-a11y]')) delete el.dataset.a11y;
  const shown = (el) => el.checkVisibility({visibilityProperty: true}) && el.getClientRects().length > 0;
  const els = [...document.querySelectorAll(selector)]
    .filter((el) => shown(el) && !el.disabled && !el.closest('[inert]'));
  return els.map((el, i) => {
    el.dataset.a11y = String(i);
    return {i: String(i), tabIndex: el.tabIndex, what: el.outerHTML.slice(0, 120)};
  });
}"""

FOCUSED_JS = """() => {
  const el = document.activeElement;
  if (!el || el === document.body || el === document.documentElement) return null;
  const ring = (e) => {
    const s = getComputedStyle(e);
    const r = e.getBoundingClientRect();
    return s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) >= 2
      && r.width >= 4 && r.height >= 4 && parseFloat(s.opacity) > 0.2;
  };
  const shows = ring(el) || [...(el.labels || [])].some(ring);
  return {i: el.dataset.a11y ?? null, ring: shows, what: el.outerHTML.slice(0, 120)};
}"""

CONTRAST_JS = """() => {
  const rgba = (c) => {
    const m = /rgba?\\(([^)]+)\\)/.exec(c);
    if (!m) return null;
    const p = m[1].split(/[\\s,\\/]+/).filter(Boolean).map(parseFloat);
    return [p[0], p[1], p[2], p.length > 3 ? p[3] : 1];
  };
  const over = (top, below) => [0, 1, 2].map((k) => top[k] * top[3] + below[k] * (1 - top[3])).concat(1);
  const mix = (a, b, t) => [0, 1, 2].map((k) => a[k] * (1 - t) + b[k] * t).concat(1);
  const lum = (c) => {
    const [r, g, b] = c.slice(0, 3).map((v) => {
      v /= 255;
      return v <= 0.04045 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
    });
    return 0.2126 * r + 0.7152 * g + 0.0722 * b;
  };
  const ratio = (a, b) => {
    const [hi, lo] = [lum(a), lum(b)].sort((p, q) => q - p);
    return (hi + 0.05) / (lo + 0.05);
  };
  const FORM = 'input:not([type=checkbox]):not([type=radio]):not([type=file]):not([type=hidden]), select, textarea';
  const out = {checked: 0, skipped: [], failures: []};
  const texts = [...document.querySelectorAll('body *')].filter((el) =>
    el.matches(FORM) || [...el.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim()));
  for (const el of texts) {
    if (el.matches('option, script, style, noscript')) continue;
    if (!el.checkVisibility({opacityProperty: true, visibilityProperty: true})) continue;
    const box = el.getBoundingClientRect();
    if (box.width < 2 || box.height < 2) continue;  // visually hidden (screen-reader-only) text
    if (el.closest(':disabled, [aria-disabled=true]')) continue;  // WCAG exempts inactive controls
    const chain = [];
    for (let e = el; e; e = e.parentElement) chain.unshift(e);
    const style = getComputedStyle(el);
    const label = (el.textContent || el.value || '').trim().slice(0, 40) || el.tagName;
    // Text over an image, a canvas or a gradient: its background is not one colour.
    if (chain.some((e) => e.matches('canvas, img, svg, video') || getComputedStyle(e).backgroundImage !== 'none')) {
      out.skipped.push(label);
      continue;
    }
    const fg = rgba(style.color);
    // Paint the pixel from the root down; each element's opacity fades its whole subtree.
    const paint = (withText) => {
      const go = (i, below) => {
        const cs = getComputedStyle(chain[i]);
        let inner = over(rgba(cs.backgroundColor) || [0, 0, 0, 0], below);
        if (i < chain.length - 1) inner = go(i + 1, inner);
        else if (withText) inner = over(fg, inner);
        return mix(below, inner, parseFloat(cs.opacity));
      };
      return go(0, [255, 255, 255, 1]);
    };
    const text = paint(true);
    const bg = paint(false);
    const size = parseFloat(style.fontSize);
    const large = size >= 24 || (size >= 18.66 && parseInt(style.fontWeight, 10) >= 700);
    const need = large ? 3 : 4.5;
    const got = ratio(text, bg);
    out.checked++;
    if (got < need) {
      out.failures.push({text: label, ratio: Math.round(got * 100) / 100, need,
        color: style.color, on: `rgb(${bg.slice(0, 3).map(Math.round).join(', ')})`,
        cls: el.className && String(el.className)});
    }
  }
  return out;
}"""


# -- helpers ----------------------------------------------------------------------------------


async def mark_controls(page: Any) -> list[dict[str, Any]]:
    """Number every visible, enabled interactive element; return what was numbered."""
    marked: list[dict[str, Any]] = await page.evaluate(MARK_JS, INTERACTIVE)
    return marked


async def tab_walk(page: Any, where: str) -> None:
    """Press Tab until every visible control was focused; each must show a focus ring."""
    controls = await mark_controls(page)
    assert controls, f"{where}: no controls found"
    removed = [c["what"] for c in controls if c["tabIndex"] < 0]
    assert removed == [], f"{where}: controls taken out of the tab order: {removed}"
    await page.evaluate("document.activeElement && document.activeElement.blur()")
    want = {c["i"] for c in controls}
    seen: set[str] = set()
    no_ring: list[str] = []
    for _ in range(2 * len(controls) + 6):
        await page.keyboard.press("Tab")
        focused = await page.evaluate(FOCUSED_JS)
        if focused is None or focused["i"] is None:
            continue
        seen.add(focused["i"])
        if not focused["ring"]:
            no_ring.append(focused["what"])
        if seen >= want:
            break
    missed = [c["what"] for c in controls if c["i"] not in seen]
    assert missed == [], f"{where}: not reachable with Tab: {missed}"
    assert no_ring == [], f"{where}: no visible focus indicator: {sorted(set(no_ring))}"


async def tab_to(page: Any, selector: str, limit: int = 80) -> None:
    """Move the focus with Tab alone until it is on ``selector``."""
    for _ in range(limit):
        await page.keyboard.press("Tab")
        if await page.evaluate("(s) => document.activeElement?.matches(s) ?? false", selector):
            return
    raise AssertionError(f"{selector} is not reachable with Tab")


async def unnamed_controls(page: Any) -> tuple[int, list[str]]:
    """Controls whose accessible name (as Chromium's accessibility tree has it) is empty."""
    await mark_controls(page)
    cdp = await page.context.new_cdp_session(page)
    try:
        await cdp.send("Accessibility.enable")
        doc = await cdp.send("DOM.getDocument", {"depth": -1})
        found = await cdp.send(
            "DOM.querySelectorAll", {"nodeId": doc["root"]["nodeId"], "selector": "[data-a11y]"}
        )
        tree = await cdp.send("Accessibility.getFullAXTree")
        by_backend = {n.get("backendDOMNodeId"): n for n in tree["nodes"]}
        bad: list[str] = []
        for node_id in found["nodeIds"]:
            node = (await cdp.send("DOM.describeNode", {"nodeId": node_id}))["node"]
            attrs = node.get("attributes", [])
            what = f"<{node['localName']} {' '.join(attrs[:8])}>"
            ax = by_backend.get(node["backendNodeId"])
            if ax is None or ax.get("ignored"):
                bad.append(f"{what}: hidden from the accessibility tree")
                continue
            name = str(ax.get("name", {}).get("value", "")).strip()
            role = ax.get("role", {}).get("value", "")
            if not name or role in {"generic", "none", ""}:
                bad.append(f"{what}: role={role!r} name={name!r}")
        return len(found["nodeIds"]), bad
    finally:
        await cdp.detach()


async def contrast(page: Any) -> dict[str, Any]:
    result: dict[str, Any] = await page.evaluate(CONTRAST_JS)
    return result


async def create_and_open_poll(teacher: Any, question: str, options: list[str]) -> None:
    await teacher.click("[data-tab=polls]")
    await teacher.select_option("select[name=kind]", "single")
    await teacher.fill("input[name=question]", question)
    await teacher.fill("textarea[name=options]", "\n".join(options))
    await teacher.click(".poll-form button[type=submit]")
    await teacher.click(".poll-item [data-action=open]")
    await teacher.wait_for_selector(".poll-item[data-status=open]")


async def vote(student: Any, choice: str) -> None:
    await student.get_by_role("button", name=choice).click()
    await student.wait_for_selector(".poll-card .note:text-matches('sent|بھیج', 'i')")


async def show_tab(teacher: Any, name: str) -> None:
    await teacher.click(f"[data-tab={name}]")
    await teacher.wait_for_selector(f"[data-tab={name}][aria-selected=true]")


async def classroom(pages: Pages, lang: str = "en") -> tuple[Any, Any, dict[str, Any]]:
    """A teacher console with one student who may draw and an open poll with a vote."""
    teacher, cls = await pages.teacher_console(lang=lang)
    student = await pages.student(cls["join_code"], "Ayesha", lang=lang)
    await teacher.click("[data-action=allow-all]")
    await student.wait_for_selector(".drawbar .toolbar")
    await create_and_open_poll(teacher, "Which planet is largest?", ["Earth", "Jupiter", "Mars"])
    await student.wait_for_selector(".poll-card .choice")
    return teacher, student, cls


# -- (a) keyboard -----------------------------------------------------------------------------


async def test_keyboard_alone_reaches_every_control_and_runs_a_poll(pages: Pages) -> None:
    teacher, cls = await pages.teacher_console()
    student = await pages.page("/", viewport={"width": 820, "height": 1000})
    await student.wait_for_selector("form.join-card")
    # The join form focuses the code box on load; Tab reaches everything on it.
    assert await student.evaluate("document.activeElement.name") == "code"
    await tab_walk(student, "student join form")
    # Join: type the code, Tab to the name, Enter.
    await tab_to(student, "input[name=code]")
    await student.keyboard.type(cls["join_code"])
    await student.keyboard.press("Tab")
    await student.keyboard.type("Bilal")
    await student.keyboard.press("Enter")
    await online(student)
    await teacher.wait_for_selector(".student-list li .name:text('Bilal')")
    # The teacher lets the class draw: Space on "Allow everyone".
    await tab_to(teacher, "[data-action=allow-all]")
    await teacher.keyboard.press("Space")
    await student.wait_for_selector(".drawbar .toolbar")

    # The teacher: Polls tab (Enter), fill the form, Enter on "Create", Space on "Open".
    await tab_to(teacher, "[data-tab=polls]")
    await teacher.keyboard.press("Enter")
    await teacher.wait_for_selector("[data-tab=polls][aria-selected=true]")
    await tab_to(teacher, "input[name=question]")
    await teacher.keyboard.type("Is the sun a star?")
    await tab_to(teacher, "textarea[name=options]")
    await teacher.keyboard.type("Yes\nNo")
    await tab_to(teacher, ".poll-form button[type=submit]")
    await teacher.keyboard.press("Enter")
    await teacher.wait_for_selector(".poll-item [data-action=open]")
    await tab_to(teacher, ".poll-item [data-action=open]")
    await teacher.keyboard.press("Space")
    await teacher.wait_for_selector(".poll-item[data-status=open]")

    # The student votes with Tab and Space; the teacher's chart counts it.
    await student.wait_for_selector(".poll-card .choice")
    await tab_to(student, ".poll-card .choice")
    assert await student.evaluate("document.activeElement.innerText.trim()") == "Yes"
    await student.keyboard.press("Space")
    await student.wait_for_selector(".poll-card .note:text-matches('sent', 'i')")
    await teacher.wait_for_function(
        "[...document.querySelectorAll('.poll-item .bar-row')].map(r => r.dataset.count).join() === '1,0'"
    )

    # Every visible control on every console tab, and in the student app, is reached by Tab.
    for tab in ("students", "pages", "polls", "quiz"):
        await show_tab(teacher, tab)
        await tab_walk(teacher, f"teacher console, {tab} tab")
    await tab_walk(student, "student app with drawing rights and an open poll")
    assert student.errors == []


# -- (b) names for screen readers and (c) contrast ----------------------------------------------


@pytest.mark.parametrize("lang", ["en", "ur"])
async def test_controls_are_named_and_text_meets_aa_contrast(pages: Pages, lang: str) -> None:
    unnamed: dict[str, list[str]] = {}
    low: dict[str, list[Any]] = {}
    counts = {"controls": 0, "texts": 0}

    async def check(where: str, page: Any, names: bool = True) -> None:
        if names:
            n, bad = await unnamed_controls(page)
            assert n > 0, f"{where}: no controls found"
            counts["controls"] += n
            if bad:
                unnamed[where] = bad
        result = await contrast(page)
        counts["texts"] += result["checked"]
        if result["failures"]:
            low[where] = result["failures"]

    login = await pages.page("/teacher", lang=lang, viewport={"width": 1280, "height": 900})
    await login.wait_for_selector("form.login-card")
    await check("teacher sign-in", login)
    join = await pages.page("/", lang=lang, viewport={"width": 820, "height": 1000})
    await join.wait_for_selector("form.join-card")
    await check("student join form", join)

    teacher, student, cls = await classroom(pages, lang)
    await vote(student, "Jupiter")
    # A second student who leaves: the roster shows them offline.
    leaver = await pages.student(cls["join_code"], "Omar", lang=lang)
    await show_tab(teacher, "students")
    await teacher.wait_for_selector(".student-list li[data-online=true] >> nth=1")
    await leaver.context.close()
    pages.contexts.remove(leaver.context)
    await teacher.wait_for_selector(".student-list li[data-online=false]")
    for tab in ("students", "pages", "polls", "quiz"):
        await show_tab(teacher, tab)
        await check(f"teacher console, {tab} tab", teacher)
    await check("student app, open poll", student)
    await show_tab(teacher, "polls")
    await teacher.click(".poll-item [data-action=close]")
    await teacher.click(".poll-item [data-action=show]")
    await student.wait_for_selector(".poll-card .bar-row")
    await check("student app, poll results", student, names=False)
    # Offline: the status pill turns red.
    await student.context.set_offline(True)
    await student.evaluate("window.takhti.session.conn.simulateDrop()")
    await student.wait_for_selector(".status[data-status=offline]")
    await check("student app, offline", student, names=False)
    # The class list, with an ended class.
    ended = await pages.running.new_class()
    status = await teacher.evaluate(
        """([id, token]) => fetch(`/api/classes/${id}/end`, {method: 'POST',
             headers: {Authorization: `Bearer ${token}`, 'Content-Type': 'application/json'},
             body: '{}'}).then(r => r.status)""",
        [ended["class_id"], pages.running.teacher_token],
    )
    assert status == 200
    await teacher.click("header.topbar .btn >> nth=0")
    await teacher.wait_for_selector(".class-list li.ended")
    await check("teacher class list", teacher)

    assert counts["controls"] > 60 and counts["texts"] > 60, counts
    assert unnamed == {}, f"controls without an accessible name ({lang}): {unnamed}"
    assert low == {}, f"text below WCAG AA contrast ({lang}): {low}"


# -- (d) charts -------------------------------------------------------------------------------


async def test_poll_chart_writes_options_and_counts_as_text(pages: Pages) -> None:
    teacher, cls = await pages.teacher_console()
    student = await pages.student(cls["join_code"], "Ali")
    # Two more students vote from plain socket clients (the chart is what is under test).
    peers = [await pages.running.student(cls["join_code"], n) for n in ("Sana", "Hamza")]
    try:
        await create_and_open_poll(
            teacher, "Which planet is largest?", ["Earth", "Jupiter", "Mars"]
        )
        poll_id = await teacher.get_attribute(".poll-item", "data-poll")
        await vote(student, "Jupiter")
        for (peer, _), option in zip(peers, [1, 2], strict=True):
            await peer.ok(
                "poll_vote", {"poll_id": poll_id, "vote_id": f"v-{option}", "option": option}
            )
    finally:
        for peer, _ in peers:
            await peer.disconnect()
    rows = ".poll-item .bar-row"
    await teacher.wait_for_function(
        f"[...document.querySelectorAll('{rows}')].map(r => r.dataset.count).join() === '0,2,1'"
    )
    # One synchronous read: the panel re-renders on every tally event.
    chart = await teacher.evaluate(
        """(rows) => [...document.querySelectorAll(rows)].map(r => {
          const bar = r.querySelector('.bar');
          const s = getComputedStyle(bar);
          return {label: r.querySelector('.bar-label').innerText,
                  value: r.querySelector('.bar-value').innerText,
                  barHidden: bar.getAttribute('aria-hidden') === 'true',
                  pattern: s.backgroundImage + ' ' + s.backgroundColor};
        })""",
        rows,
    )
    # Each option and its count (and share) are written next to the bar, in the order given.
    assert [r["label"] for r in chart] == ["Earth", "Jupiter", "Mars"]
    assert [r["value"].split()[0].rstrip(",") for r in chart] == ["0", "2", "1"]
    assert [r["value"].split()[-1] for r in chart] == ["0%", "67%", "33%"]
    assert "3" in await teacher.inner_text(".poll-item .chart-total")
    # The bars are decoration: hidden from screen readers, and told apart by pattern too.
    assert all(r["barHidden"] for r in chart)
    assert len({r["pattern"] for r in chart}) == 3, chart
    # A screen reader gets the same numbers: the chart list's accessible text has them.
    chart_list = teacher.get_by_role("list", name="Votes per option")
    for text in ("Jupiter", "2, 67%", "Mars", "1, 33%"):
        await chart_list.get_by_text(text).wait_for()
    # The same chart, shown to the students, also carries the numbers as text.
    await teacher.click(".poll-item [data-action=close]")
    await teacher.click(".poll-item [data-action=show]")
    values = await student.wait_for_function(
        """() => {
          const v = [...document.querySelectorAll('.poll-card .bar-row .bar-value')].map(e => e.innerText);
          return v.length === 3 && v;
        }"""
    )
    assert [v.split()[0].rstrip(",") for v in await values.json_value()] == ["0", "2", "1"]
