/**
 * The whiteboard as this client knows it: the snapshot plus every board event folded in, in log
 * order (mirrors classroom/board.py ``apply``; ids this client cannot see are ignored).
 */
import { BOARD_HEIGHT, BOARD_WIDTH, FEATURE_EVENTS } from "../net/protocol.gen";
import type { Actor, WireEvent } from "../net/types";

export { BOARD_HEIGHT, BOARD_WIDTH };

/**
 * A snapshot piece's stroke points (``q``: integers x*10, y*10, pressure*1000, t ms; the first
 * point's four as they are, then each value's difference from the point before) as flat
 * ``[x, y, pressure, t, ...]``, the log's form.
 */
export function decodePoints(q: number[]): number[] {
  const pts: number[] = [];
  let x = 0;
  let y = 0;
  let p = 0;
  let t = 0;
  for (let i = 0; i + 3 < q.length; i += 4) {
    x += q[i] as number;
    y += q[i + 1] as number;
    p += q[i + 2] as number;
    t += q[i + 3] as number;
    pts.push(x / 10, y / 10, p / 1000, t);
  }
  return pts;
}


export interface Background {
  kind: "blank" | "ruled" | "grid" | "image";
  image?: string | null;
}

interface ItemBase {
  id: string;
  page: string;
  color: string;
  by: { role: string; id: string };
  hidden: Set<string>;
}
export interface StrokeItem extends ItemBase {
  type: "stroke";
  tool: "pen" | "highlighter";
  width: number;
  pts: number[];
  done: boolean;
}
export interface ShapeItem extends ItemBase {
  type: "shape";
  kind: "line" | "arrow" | "rectangle" | "ellipse";
  pts: number[];
  width: number;
}
export interface TextItem extends ItemBase {
  type: "text";
  text: string;
  x: number;
  y: number;
  size: number;
  dir: "ltr" | "rtl";
}
export type BoardItem = StrokeItem | ShapeItem | TextItem;

export interface Page {
  id: string;
  background: Background;
  items: Map<string, BoardItem>;
}

export interface DrawingRights {
  mode: "none" | "all" | "chosen";
  ink: "class" | "teacher";
  allowed: Set<string>;
  denied: Set<string>;
}

/** The log events this model folds (the protocol's board feature). */
export const BOARD_EVENTS: ReadonlySet<string> = new Set(FEATURE_EVENTS.board);

export class BoardModel {
  pages = new Map<string, Page>();
  order: string[] = [];
  current = "page-1";
  items = new Map<string, BoardItem>();
  rights: DrawingRights = { mode: "none", ink: "class", allowed: new Set(), denied: new Set() };
  /** Bumped on every change; views redraw when it moves. */
  version = 0;

  constructor(readonly me: Actor) {}

  load(board: any): void {
    this.pages.clear();
    this.items.clear();
    for (const raw of board.pages as any[]) {
      const page: Page = { id: raw.id, background: raw.background, items: new Map() };
      this.pages.set(page.id, page);
      for (const rawItem of raw.items as any[]) {
        const { q, ...fields } = rawItem;
        const item = { ...fields, page: page.id, hidden: new Set<string>(rawItem.hidden_by ?? []) } as BoardItem;
        if (item.type === "stroke") item.pts = q !== undefined ? decodePoints(q) : [...item.pts];
        page.items.set(item.id, item);
        this.items.set(item.id, item);
      }
    }
    this.order = [...board.order];
    this.current = board.current;
    const d = board.drawing ?? {};
    const mine = this.me.role === "student" ? [this.me.id] : [];
    this.rights = {
      mode: d.mode ?? "none",
      ink: d.ink ?? "class",
      allowed: new Set(d.allowed ?? (d.mode === "chosen" && d.may_draw ? mine : [])),
      denied: new Set(d.denied ?? (d.mode === "all" && !d.may_draw ? mine : [])),
    };
    this.version++;
  }

  /** Whether ``student`` (default: this client) may draw now. */
  mayDraw(student?: string): boolean {
    if (student === undefined && this.me.role === "teacher") return true;
    const id = student ?? this.me.id;
    if (student === undefined && this.me.role !== "student") return false;
    const r = this.rights;
    if (r.mode === "all") return !r.denied.has(id);
    return r.mode === "chosen" && r.allowed.has(id);
  }

  page(id = this.current): Page | undefined {
    return this.pages.get(id);
  }

  /** Visible items of a page in drawing order. */
  visibleItems(pageId = this.current): BoardItem[] {
    const page = this.pages.get(pageId);
    if (!page) return [];
    return [...page.items.values()].filter((item) => item.hidden.size === 0);
  }

  apply(event: WireEvent): boolean {
    if (!BOARD_EVENTS.has(event.type)) return false;
    const d = event.data as any;
    const by = { role: event.by?.role ?? "teacher", id: event.by?.id ?? "" };
    switch (event.type) {
      case "stroke_started":
        this.add({ type: "stroke", id: d.id, page: d.page, tool: d.tool, color: d.color, width: d.width, pts: [...d.pts], done: false, by, hidden: new Set() });
        break;
      case "stroke_extended": {
        const stroke = this.items.get(d.id);
        if (stroke?.type !== "stroke" || stroke.done) break;
        const have = stroke.pts.length / 4;
        if (d.offset > have) break;
        const skip = (have - d.offset) * 4;
        if (skip < d.pts.length) stroke.pts.push(...(d.pts as number[]).slice(skip));
        break;
      }
      case "stroke_ended": {
        const stroke = this.items.get(d.id);
        if (stroke?.type === "stroke") stroke.done = true;
        break;
      }
      case "shape_added":
        this.add({ type: "shape", id: d.id, page: d.page, kind: d.kind, pts: [...d.pts], color: d.color, width: d.width, by, hidden: new Set() });
        break;
      case "text_added":
        this.add({ type: "text", id: d.id, page: d.page, text: d.text, x: d.x, y: d.y, size: d.size, color: d.color, dir: d.dir, by, hidden: new Set() });
        break;
      case "items_erased":
      case "page_cleared":
        for (const id of d.ids as string[]) this.items.get(id)?.hidden.add(d.op);
        break;
      case "board_undone":
      case "board_redone": {
        const hide = (d.kind === "add") === (event.type === "board_undone");
        for (const id of d.ids as string[]) {
          const item = this.items.get(id);
          if (!item) continue;
          if (hide) item.hidden.add(d.op);
          else item.hidden.delete(d.op);
        }
        break;
      }
      case "page_added":
        if (!this.pages.has(d.page)) {
          this.pages.set(d.page, { id: d.page, background: d.background, items: new Map() });
          this.order.splice(Math.min(d.index, this.order.length), 0, d.page);
          if (d.switch) this.current = d.page;
        }
        break;
      case "page_switched":
        if (this.pages.has(d.page)) this.current = d.page;
        break;
      case "page_reordered":
        if (d.order.length === this.order.length) this.order = [...d.order];
        break;
      case "page_deleted": {
        const page = this.pages.get(d.page);
        if (!page || this.order.length === 1) break;
        const index = this.order.indexOf(d.page);
        this.order.splice(index, 1);
        this.pages.delete(d.page);
        for (const id of page.items.keys()) this.items.delete(id);
        if (this.current === d.page) this.current = this.order[Math.min(index, this.order.length - 1)]!;
        break;
      }
      case "page_background_set": {
        const page = this.pages.get(d.page);
        if (page) page.background = d.background;
        break;
      }
      case "drawing_allowed": {
        const r = this.rights;
        r.ink = d.ink;
        if (d.students === null) {
          r.mode = "all";
          r.allowed.clear();
          r.denied.clear();
        } else if (r.mode === "all") {
          for (const s of d.students) r.denied.delete(s);
        } else {
          r.mode = "chosen";
          for (const s of d.students) r.allowed.add(s);
        }
        break;
      }
      case "drawing_revoked": {
        const r = this.rights;
        if (d.students === null) {
          r.mode = "none";
          r.allowed.clear();
          r.denied.clear();
        } else if (r.mode === "all") {
          for (const s of d.students) r.denied.add(s);
        } else {
          for (const s of d.students) r.allowed.delete(s);
          if (r.allowed.size === 0) r.mode = "none";
        }
        for (const item of this.items.values()) {
          if (item.type === "stroke" && !item.done && item.by.role === "student" && !this.mayDraw(item.by.id)) item.done = true;
        }
        break;
      }
    }
    this.version++;
    return true;
  }

  private add(item: BoardItem): void {
    const page = this.pages.get(item.page);
    if (!page || this.items.has(item.id)) return;
    page.items.set(item.id, item);
    this.items.set(item.id, item);
  }
}
