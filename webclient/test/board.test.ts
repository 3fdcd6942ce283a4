import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import freehand from "../src/board/freehand-options.json";
import { BoardModel, decodePoints } from "../src/board/model";
import { hits } from "../src/board/hit";
import type { WireEvent } from "../src/net/types";

const root = fileURLToPath(new URL("../..", import.meta.url));
const python = process.env.PYTHON ?? `${root}.venv/bin/python`;

describe("perfect-freehand options", () => {
  it.runIf(existsSync(python) || process.env.CI)("match classroom.protocol.board (run `npm run gen` after a change)", () => {
    const code =
      "import json; from classroom.protocol.board import FREEHAND_OPTIONS, HIGHLIGHTER_OPACITY;" +
      "print(json.dumps({'options': FREEHAND_OPTIONS, 'highlighter_opacity': HIGHLIGHTER_OPACITY}))";
    const fromPython = JSON.parse(execFileSync(python, ["-c", code], { cwd: root, encoding: "utf8" }));
    expect(freehand).toEqual(fromPython);
  });
});

const teacher = { role: "teacher" as const, id: "amina", name: "amina" };
const e = (seq: number, type: string, data: Record<string, unknown>, by = teacher): WireEvent => ({ seq, type, by, ts: 0, data });

function board(): BoardModel {
  const m = new BoardModel({ role: "student", id: "s1" });
  m.load({
    pages: [{ id: "page-1", background: { kind: "blank" }, items: [] }],
    order: ["page-1"],
    current: "page-1",
    drawing: { mode: "none", ink: "class", may_draw: false },
  });
  return m;
}

describe("BoardModel", () => {
  it("loads a paged snapshot's compact points (q) as the log's floats", () => {
    expect(decodePoints([12345, 6789, 512, 0, 3, -2, 0, 16, -1, 0, 8, 17])).toEqual([
      1234.5, 678.9, 0.512, 0, 1234.8, 678.7, 0.512, 16, 1234.7, 678.7, 0.52, 33,
    ]);
    const m = new BoardModel({ role: "student", id: "s1" });
    const stroke = { id: "k1", type: "stroke", tool: "pen", color: "#000000", width: 4, done: true, by: teacher };
    m.load({
      pages: [{ id: "page-1", background: { kind: "blank" }, items: [{ ...stroke, q: [100, 200, 500, 0, 5, 5, 0, 8] }] }],
      order: ["page-1"],
      current: "page-1",
      drawing: { mode: "none", ink: "class", may_draw: false },
    });
    const k1 = m.items.get("k1")!;
    expect(k1.type === "stroke" && k1.pts).toEqual([10, 20, 0.5, 0, 10.5, 20.5, 0.5, 8]);
    expect("q" in k1).toBe(false);
  });

  it("folds strokes, erase and undo/redo like the server", () => {
    const m = board();
    m.apply(e(1, "stroke_started", { id: "k1", page: "page-1", tool: "pen", color: "#000000", width: 4, pts: [0, 0, 0.5, 0] }));
    m.apply(e(2, "stroke_extended", { id: "k1", offset: 1, pts: [10, 10, 0.5, 5, 20, 20, 0.5, 9] }));
    m.apply(e(3, "stroke_extended", { id: "k1", offset: 2, pts: [20, 20, 0.5, 9, 30, 30, 0.5, 12] })); // overlap
    m.apply(e(4, "stroke_ended", { id: "k1", n: 4 }));
    const k1 = m.items.get("k1")!;
    expect(k1.type === "stroke" && k1.pts.length).toBe(16);
    m.apply(e(5, "items_erased", { op: "er1", page: "page-1", ids: ["k1", "unknown"] }));
    expect(m.visibleItems()).toEqual([]);
    m.apply(e(6, "board_undone", { op: "er1", kind: "erase", ids: ["k1"] }));
    expect(m.visibleItems().map((i) => i.id)).toEqual(["k1"]);
    m.apply(e(7, "board_undone", { op: "k1", kind: "add", ids: ["k1"] }));
    expect(m.visibleItems()).toEqual([]);
    m.apply(e(8, "board_redone", { op: "k1", kind: "add", ids: ["k1"] }));
    expect(m.visibleItems().length).toBe(1);
  });

  it("pages: add, switch, reorder, delete", () => {
    const m = board();
    m.apply(e(1, "page_added", { page: "p2", background: { kind: "grid" }, index: 1, switch: true }));
    expect(m.current).toBe("p2");
    m.apply(e(2, "page_reordered", { order: ["p2", "page-1"] }));
    expect(m.order).toEqual(["p2", "page-1"]);
    m.apply(e(3, "page_deleted", { page: "p2" }));
    expect(m.order).toEqual(["page-1"]);
    expect(m.current).toBe("page-1");
  });

  it("drawing rights for this student", () => {
    const m = board();
    expect(m.mayDraw()).toBe(false);
    m.apply(e(1, "drawing_allowed", { students: null, ink: "class" }));
    expect(m.mayDraw()).toBe(true);
    m.apply(e(2, "drawing_revoked", { students: ["s1"] }));
    expect(m.mayDraw()).toBe(false);
    expect(m.mayDraw("s2")).toBe(true);
  });

  it("eraser hit testing", () => {
    const m = board();
    m.apply(e(1, "stroke_started", { id: "k1", page: "page-1", tool: "pen", color: "#000000", width: 4, pts: [0, 0, 0.5, 0, 100, 0, 0.5, 5] }));
    m.apply(e(2, "shape_added", { id: "r1", page: "page-1", kind: "rectangle", pts: [200, 200, 400, 300], color: "#000000", width: 4 }));
    const [k1, r1] = m.visibleItems();
    expect(hits(k1!, 50, 3, 2)).toBe(true);
    expect(hits(k1!, 50, 30, 2)).toBe(false);
    expect(hits(r1!, 300, 201, 2)).toBe(true);
    expect(hits(r1!, 300, 250, 2)).toBe(false);
  });
});
