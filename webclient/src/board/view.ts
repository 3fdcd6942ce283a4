/**
 * The interactive board: a canvas that fits the 1920x1080 page into its box, pointer input for
 * every tool (pen, highlighter, eraser, shapes, text), and local pinch/wheel zoom.
 */
import type { Connection } from "../net/connection";
import { StrokeItem as StrokeOut } from "../net/outbox";
import { type Point, StrokeSync } from "../net/stroke";
import { newId } from "../net/types";
import { h } from "../dom";
import { t } from "../i18n";
import { hits } from "./hit";
import { BOARD_HEIGHT, BOARD_WIDTH, type BoardItem, type BoardModel, type ShapeItem, type StrokeItem } from "./model";
import { placeText, textDir, type Placed } from "./place";
import { drawBackground, drawItem, LINE_HEIGHT, textFont } from "./render";

/** Width of the box the teacher types a text into, in CSS pixels (as in style.css). */
const BOX_WIDTH = 320;

export type Tool = "pen" | "highlighter" | "eraser" | "line" | "arrow" | "rectangle" | "ellipse" | "text";
export const SHAPE_TOOLS = new Set<Tool>(["line", "arrow", "rectangle", "ellipse"]);

interface Gesture {
  kind: "stroke" | "erase" | "shape" | "pan";
  pointerId: number;
  sync?: StrokeSync;
  item?: BoardItem;
  erased?: Set<string>;
  startX?: number;
  startY?: number;
  t0?: number;
  lastT?: number;
}

export class BoardView {
  readonly el: HTMLElement;
  readonly canvas: HTMLCanvasElement;
  tool: Tool = "pen";
  color = "#1a1a1a";
  width = 4;
  textSize = 48;
  /** Local zoom: scale and offset in CSS pixels. */
  zoom = { scale: 1, x: 0, y: 0 };
  private pending = new Map<string, BoardItem>();
  private erasing = new Set<string>();
  private gesture: Gesture | null = null;
  private pointers = new Map<number, { x: number; y: number }>();
  private pinch: { dist: number; cx: number; cy: number; scale: number; x: number; y: number } | null = null;
  private cssW = 0;
  private cssH = 0;
  private frame = 0;
  private renderedVersion = -1;
  private textBox: HTMLElement | null = null;
  /** Page background pictures by asset id, loaded once. */
  private images = new Map<string, HTMLImageElement>();

  constructor(
    readonly model: BoardModel,
    readonly conn: Connection,
    private readonly options: { zoomable: boolean; canDraw: () => boolean; onZoom?: () => void; imageUrl?: (assetId: string) => string },
  ) {
    this.canvas = h("canvas", {
      class: "board-canvas",
      role: "img",
      "aria-label": t("board.label"),
      tabindex: "0",
    });
    this.el = h("div", { class: "board-box" }, [this.canvas]);
    new ResizeObserver(() => this.resize()).observe(this.el);
    this.canvas.addEventListener("pointerdown", (e) => this.down(e));
    this.canvas.addEventListener("pointermove", (e) => this.move(e));
    this.canvas.addEventListener("pointerup", (e) => this.up(e));
    this.canvas.addEventListener("pointercancel", (e) => this.up(e));
    this.canvas.addEventListener("wheel", (e) => this.wheel(e), { passive: false });
    this.loop();
  }

  get scale(): number {
    return this.cssW / BOARD_WIDTH;
  }

  requestRender(): void {
    this.renderedVersion = -1;
  }

  resetZoom(): void {
    this.zoom = { scale: 1, x: 0, y: 0 };
    this.requestRender();
    this.options.onZoom?.();
  }

  private loop = (): void => {
    this.frame = requestAnimationFrame(this.loop);
    if (this.renderedVersion === this.model.version || !this.el.isConnected) return;
    this.renderedVersion = this.model.version;
    this.render();
  };

  destroy(): void {
    cancelAnimationFrame(this.frame);
  }

  private resize(): void {
    const box = this.el.getBoundingClientRect();
    let w = box.width;
    let hh = (w * BOARD_HEIGHT) / BOARD_WIDTH;
    if (hh > box.height && box.height > 0) {
      hh = box.height;
      w = (hh * BOARD_WIDTH) / BOARD_HEIGHT;
    }
    this.cssW = Math.max(1, Math.floor(w));
    this.cssH = Math.max(1, Math.floor(hh));
    const dpr = Math.min(window.devicePixelRatio || 1, 2);
    this.canvas.style.width = `${this.cssW}px`;
    this.canvas.style.height = `${this.cssH}px`;
    this.canvas.width = Math.round(this.cssW * dpr);
    this.canvas.height = Math.round(this.cssH * dpr);
    this.requestRender();
  }

  render(): void {
    const ctx = this.canvas.getContext("2d");
    if (!ctx) return;
    const dpr = this.canvas.width / this.cssW;
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.fillStyle = "#e9edf2";
    ctx.fillRect(0, 0, this.canvas.width, this.canvas.height);
    const k = dpr * this.zoom.scale * this.scale;
    ctx.setTransform(k, 0, 0, k, dpr * this.zoom.x, dpr * this.zoom.y);
    const page = this.model.page();
    const picture = this.backgroundImage(page?.background.kind === "image" ? page.background.image : null);
    drawBackground(ctx, page?.background, picture);
    // Which picture is on screen (for tests and debugging).
    if (picture) this.canvas.dataset.backgroundImage = page!.background.image!;
    else delete this.canvas.dataset.backgroundImage;
    for (const [id, item] of this.pending) {
      const real = this.model.items.get(id);
      const settled = real && (real.type !== "stroke" || real.done);
      const failed = item.type === "stroke" && (this.gesture?.item !== item) && (item as StrokeItem & { failed?: boolean }).failed;
      if (settled || failed || item.page !== this.model.current) this.pending.delete(id);
    }
    for (const item of this.model.visibleItems()) {
      if (!this.pending.has(item.id) && !this.erasing.has(item.id)) drawItem(ctx, item);
    }
    for (const item of this.pending.values()) drawItem(ctx, item);
  }

  /** The loaded picture for ``assetId``, starting its download on first use (redraws when it arrives). */
  private backgroundImage(assetId: string | null | undefined): HTMLImageElement | undefined {
    if (!assetId || !this.options.imageUrl) return undefined;
    let img = this.images.get(assetId);
    if (!img) {
      img = new Image();
      img.decoding = "async";
      img.addEventListener("load", () => this.requestRender());
      img.addEventListener("error", () => this.images.delete(assetId)); // retried on a later redraw
      img.src = this.options.imageUrl(assetId);
      this.images.set(assetId, img);
    }
    return img.complete && img.naturalWidth > 0 ? img : undefined;
  }

  /** Board coordinates of a pointer event. */
  toBoard(e: { clientX: number; clientY: number }): [number, number] {
    const r = this.canvas.getBoundingClientRect();
    const x = ((e.clientX - r.left - this.zoom.x) / this.zoom.scale) / this.scale;
    const y = ((e.clientY - r.top - this.zoom.y) / this.zoom.scale) / this.scale;
    return [clamp(x, 0, BOARD_WIDTH), clamp(y, 0, BOARD_HEIGHT)];
  }

  private down(e: PointerEvent): void {
    this.pointers.set(e.pointerId, { x: e.clientX, y: e.clientY });
    try {
      this.canvas.setPointerCapture?.(e.pointerId);
    } catch {
      // The pointer may already be gone (or be synthetic); capture is only a convenience.
    }
    if (this.options.zoomable && this.pointers.size === 2) {
      this.endGesture();
      const [a, b] = [...this.pointers.values()] as [{ x: number; y: number }, { x: number; y: number }];
      this.pinch = { dist: Math.hypot(a.x - b.x, a.y - b.y), cx: (a.x + b.x) / 2, cy: (a.y + b.y) / 2, ...this.zoom };
      return;
    }
    if (this.gesture || this.pointers.size > 1) return;
    e.preventDefault();
    if (!this.options.canDraw()) {
      if (this.options.zoomable) this.gesture = { kind: "pan", pointerId: e.pointerId, startX: e.clientX - this.zoom.x, startY: e.clientY - this.zoom.y };
      return;
    }
    const [x, y] = this.toBoard(e);
    const page = this.model.current;
    if (this.tool === "pen" || this.tool === "highlighter") {
      const id = newId("k");
      const sync = new StrokeSync({ stroke_id: id, page_id: page, tool: this.tool, color: this.color, width: this.tool === "highlighter" ? Math.max(this.width * 4, 16) : this.width });
      const item: StrokeItem = { type: "stroke", id, page, tool: sync.header.tool, color: this.color, width: sync.header.width, pts: [], done: false, by: { role: this.model.me.role, id: this.model.me.id }, hidden: new Set() };
      this.gesture = { kind: "stroke", pointerId: e.pointerId, sync, item, t0: e.timeStamp, lastT: 0 };
      this.pending.set(id, item);
      this.addPoint(e);
      this.conn.outbox.push(new StrokeOut(sync));
    } else if (this.tool === "eraser") {
      this.gesture = { kind: "erase", pointerId: e.pointerId, erased: new Set() };
      this.eraseAt(x, y);
    } else if (SHAPE_TOOLS.has(this.tool)) {
      const item: ShapeItem = { type: "shape", id: newId("sh"), page, kind: this.tool as ShapeItem["kind"], pts: [x, y, x, y], color: this.color, width: this.width, by: { role: this.model.me.role, id: this.model.me.id }, hidden: new Set() };
      this.gesture = { kind: "shape", pointerId: e.pointerId, item, startX: x, startY: y };
      this.pending.set(item.id, item);
    } else if (this.tool === "text") {
      this.openText(e, x, y);
    }
    this.requestRender();
  }

  private move(e: PointerEvent): void {
    if (this.pointers.has(e.pointerId)) this.pointers.set(e.pointerId, { x: e.clientX, y: e.clientY });
    if (this.pinch && this.pointers.size >= 2) {
      const [a, b] = [...this.pointers.values()] as [{ x: number; y: number }, { x: number; y: number }];
      const dist = Math.hypot(a.x - b.x, a.y - b.y);
      const r = this.canvas.getBoundingClientRect();
      const scale = clamp((this.pinch.scale * dist) / Math.max(this.pinch.dist, 1), 1, 6);
      const cx = (a.x + b.x) / 2 - r.left;
      const cy = (a.y + b.y) / 2 - r.top;
      const px = this.pinch.cx - r.left;
      const py = this.pinch.cy - r.top;
      // Keep the board point under the pinch centre under the fingers.
      this.setZoom(scale, cx - ((px - this.pinch.x) / this.pinch.scale) * scale, cy - ((py - this.pinch.y) / this.pinch.scale) * scale);
      return;
    }
    const g = this.gesture;
    if (!g || g.pointerId !== e.pointerId) return;
    if (g.kind === "pan") {
      this.setZoom(this.zoom.scale, e.clientX - g.startX!, e.clientY - g.startY!);
    } else if (g.kind === "stroke") {
      const events = typeof e.getCoalescedEvents === "function" ? e.getCoalescedEvents() : [];
      for (const ce of events.length ? events : [e]) this.addPoint(ce);
      this.conn.outbox.kick();
    } else if (g.kind === "erase") {
      const [x, y] = this.toBoard(e);
      this.eraseAt(x, y);
    } else if (g.kind === "shape" && g.item?.type === "shape") {
      const [x, y] = this.toBoard(e);
      g.item.pts = [g.startX!, g.startY!, x, y];
    }
    this.requestRender();
  }

  private up(e: PointerEvent): void {
    this.pointers.delete(e.pointerId);
    if (this.pinch) {
      if (this.pointers.size < 2) this.pinch = null;
      return;
    }
    if (this.gesture?.pointerId === e.pointerId) this.endGesture();
  }

  private endGesture(): void {
    const g = this.gesture;
    this.gesture = null;
    if (!g) return;
    if (g.kind === "stroke" && g.sync) {
      g.sync.finish();
      this.conn.outbox.kick();
      const item = g.item as StrokeItem & { failed?: boolean };
      void this.conn.outbox.drained().then(() => {
        if (g.sync!.error) item.failed = true;
        this.requestRender();
      });
    } else if (g.kind === "erase" && g.erased && g.erased.size > 0) {
      const ids = [...g.erased];
      const page = this.model.current;
      for (let i = 0; i < ids.length; i += 500) {
        void this.conn.send("board_erase", { op_id: newId("er"), page_id: page, ids: ids.slice(i, i + 500) }).then(() => {
          for (const id of ids) this.erasing.delete(id);
          this.requestRender();
        });
      }
    } else if (g.kind === "shape" && g.item?.type === "shape") {
      const [x1, y1, x2, y2] = g.item.pts as [number, number, number, number];
      if (Math.hypot(x2 - x1, y2 - y1) < 4) {
        this.pending.delete(g.item.id);
      } else {
        const item = g.item;
        void this.conn
          .send("board_add_shape", { shape_id: item.id, page_id: item.page, kind: item.kind, start: [r1(x1), r1(y1)], end: [r1(x2), r1(y2)], color: item.color, width: item.width })
          .then((ack) => {
            if (!ack.ok) this.pending.delete(item.id);
            this.requestRender();
          });
      }
    }
    this.requestRender();
  }

  private addPoint(e: PointerEvent): void {
    const g = this.gesture!;
    const [x, y] = this.toBoard(e);
    const pressure = e.pointerType === "pen" && e.pressure > 0 ? Math.min(1, e.pressure) : 0.5;
    const tms = Math.max(g.lastT ?? 0, Math.round(e.timeStamp - (g.t0 ?? e.timeStamp)));
    g.lastT = tms;
    const point: Point = [r1(x), r1(y), Math.round(pressure * 1000) / 1000, tms];
    const pts = g.sync!.points;
    const last = pts[pts.length - 1];
    if (last && last[0] === point[0] && last[1] === point[1]) return;
    g.sync!.add(point);
    (g.item as StrokeItem).pts.push(...point);
  }

  private eraseAt(x: number, y: number): void {
    const g = this.gesture!;
    const r = 12 / (this.scale * this.zoom.scale) + this.width;
    const me = this.model.me;
    for (const item of this.model.visibleItems()) {
      if (g.erased!.has(item.id)) continue;
      if (me.role !== "teacher" && (item.by.role !== me.role || item.by.id !== me.id)) continue;
      if (hits(item, x, y, r)) {
        g.erased!.add(item.id);
        this.erasing.add(item.id);
      }
    }
  }

  /** Where ``text`` typed after a tap at (x, y) goes: measured with the board's own fonts. */
  private placeTyped(text: string, x: number, y: number): Placed {
    const ctx = this.canvas.getContext("2d")!;
    ctx.save();
    ctx.font = textFont(textDir(text), this.textSize);
    try {
      return placeText(text, x, y, this.textSize, LINE_HEIGHT, (line) => ctx.measureText(line).width);
    } finally {
      ctx.restore();
    }
  }

  private openText(e: PointerEvent, x: number, y: number): void {
    this.textBox?.remove();
    const r = this.el.getBoundingClientRect();
    const area = h("textarea", { class: "board-text-input", dir: "auto", rows: "2", "aria-label": t("board.textInput") });
    const page = this.model.current;
    const commit = (): void => {
      const text = area.value.trim();
      box.remove();
      this.textBox = null;
      if (!text) return;
      const placed = this.placeTyped(text, x, y);
      void this.conn.send("board_add_text", { text_id: newId("t"), page_id: page, text: placed.text, x: r1(placed.x), y: r1(placed.y), size: this.textSize, color: this.color });
    };
    const box = h("div", { class: "board-text-box" }, [
      area,
      h("button", { class: "btn primary", type: "button", onclick: commit }, [t("board.textDone")]),
      h("button", { class: "btn", type: "button", onclick: () => { box.remove(); this.textBox = null; } }, [t("common.cancel")]),
    ]);
    // The box sits where the text will grow: rightwards from the tap, or leftwards once the
    // teacher types right-to-left (Urdu) text.
    const tapLeft = e.clientX - r.left;
    const placeBox = (): void => {
      const rtl = textDir(area.value) === "rtl" || (!area.value && document.documentElement.dir === "rtl");
      const left = rtl ? tapLeft - BOX_WIDTH : tapLeft;
      box.style.left = `${Math.max(0, Math.min(left, r.width - BOX_WIDTH))}px`;
    };
    placeBox();
    area.addEventListener("input", placeBox);
    box.style.top = `${Math.min(e.clientY - r.top, r.height - 140)}px`;
    area.style.color = this.color;
    area.addEventListener("keydown", (ev) => {
      if (ev.key === "Enter" && !ev.shiftKey) {
        ev.preventDefault();
        commit();
      } else if (ev.key === "Escape") {
        box.remove();
        this.textBox = null;
      }
    });
    this.el.append(box);
    this.textBox = box;
    setTimeout(() => area.focus(), 0);
  }

  private wheel(e: WheelEvent): void {
    if (!this.options.zoomable) return;
    e.preventDefault();
    const r = this.canvas.getBoundingClientRect();
    const scale = clamp(this.zoom.scale * Math.exp(-e.deltaY / 400), 1, 6);
    const cx = e.clientX - r.left;
    const cy = e.clientY - r.top;
    this.setZoom(scale, cx - ((cx - this.zoom.x) / this.zoom.scale) * scale, cy - ((cy - this.zoom.y) / this.zoom.scale) * scale);
  }

  private setZoom(scale: number, x: number, y: number): void {
    const minX = this.cssW - this.cssW * scale;
    const minY = this.cssH - this.cssH * scale;
    this.zoom = { scale, x: clamp(x, minX, 0), y: clamp(y, minY, 0) };
    this.requestRender();
    this.options.onZoom?.();
  }
}

function clamp(v: number, lo: number, hi: number): number {
  return Math.min(hi, Math.max(lo, v));
}

function r1(v: number): number {
  return Math.round(v * 10) / 10;
}
