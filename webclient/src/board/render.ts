/** Draw a board page on a 2D canvas with perfect-freehand, the same look as the server render. */
import { getStroke } from "perfect-freehand";
import freehand from "./freehand-options.json";
import { BOARD_HEIGHT, BOARD_WIDTH, type Background, type BoardItem, type ShapeItem, type StrokeItem, type TextItem } from "./model";

export const FREEHAND_OPTIONS = freehand.options as Record<"pen" | "highlighter", Record<string, unknown>>;
export const HIGHLIGHTER_OPACITY: number = freehand.highlighter_opacity;
const RULE_SPACING = 54;
export const LINE_HEIGHT = 1.25;
const ASCENT = 0.8;
export const URDU_FONT = '"Noto Nastaliq Urdu", "Noto Naskh Arabic", serif';
export const LATIN_FONT = 'system-ui, "Segoe UI", Roboto, "Noto Sans", sans-serif';

/** The SVG path of a perfect-freehand outline (as in the perfect-freehand README). */
export function outlinePath(outline: number[][]): string {
  const n = outline.length;
  if (n < 4) return "";
  const avg = (a: number, b: number) => (a + b) / 2;
  let a = outline[0]!;
  let b = outline[1]!;
  const c = outline[2]!;
  let d = `M${a[0]!.toFixed(2)},${a[1]!.toFixed(2)} Q${b[0]!.toFixed(2)},${b[1]!.toFixed(2)} ${avg(b[0]!, c[0]!).toFixed(2)},${avg(b[1]!, c[1]!).toFixed(2)} T`;
  for (let i = 2; i < n - 1; i++) {
    a = outline[i]!;
    b = outline[i + 1]!;
    d += `${avg(a[0]!, b[0]!).toFixed(2)},${avg(a[1]!, b[1]!).toFixed(2)} `;
  }
  return d + "Z";
}

/** perfect-freehand input points [x, y, pressure] from the flat wire form. */
export function strokeInput(pts: number[]): number[][] {
  const out: number[][] = [];
  for (let i = 0; i + 3 < pts.length; i += 4) out.push([pts[i]!, pts[i + 1]!, pts[i + 2]!]);
  return out;
}

export function strokeOutline(stroke: Pick<StrokeItem, "tool" | "width" | "pts">): number[][] {
  return getStroke(strokeInput(stroke.pts), { size: stroke.width, ...FREEHAND_OPTIONS[stroke.tool] });
}

const pathCache = new WeakMap<object, { key: number; path: Path2D }>();

function strokePath(stroke: StrokeItem): Path2D {
  const key = stroke.pts.length * 2 + (stroke.done ? 1 : 0);
  const cached = pathCache.get(stroke);
  if (cached && cached.key === key) return cached.path;
  const path = new Path2D(outlinePath(strokeOutline(stroke)));
  pathCache.set(stroke, { key, path });
  return path;
}

/** Draw the page background; an image background needs its loaded ``image`` (else it stays white). */
export function drawBackground(ctx: CanvasRenderingContext2D, background: Background | undefined, image?: { width: number; height: number } & CanvasImageSource): void {
  ctx.fillStyle = "#ffffff";
  ctx.fillRect(0, 0, BOARD_WIDTH, BOARD_HEIGHT);
  const kind = background?.kind;
  if (kind === "image") {
    if (image && image.width > 0 && image.height > 0) {
      // Fitted to the page (letterboxed on white), centred, behind the ink.
      const k = Math.min(BOARD_WIDTH / image.width, BOARD_HEIGHT / image.height);
      const w = image.width * k;
      const hh = image.height * k;
      ctx.drawImage(image, (BOARD_WIDTH - w) / 2, (BOARD_HEIGHT - hh) / 2, w, hh);
    }
    return;
  }
  if (kind !== "ruled" && kind !== "grid") return;
  ctx.strokeStyle = kind === "ruled" ? "#b8cfe6" : "#d5dbe3";
  ctx.lineWidth = 1.5;
  ctx.beginPath();
  for (let y = RULE_SPACING; y < BOARD_HEIGHT; y += RULE_SPACING) {
    ctx.moveTo(0, y);
    ctx.lineTo(BOARD_WIDTH, y);
  }
  if (kind === "grid") {
    for (let x = RULE_SPACING; x < BOARD_WIDTH; x += RULE_SPACING) {
      ctx.moveTo(x, 0);
      ctx.lineTo(x, BOARD_HEIGHT);
    }
  }
  ctx.stroke();
}

export function drawItem(ctx: CanvasRenderingContext2D, item: BoardItem): void {
  if (item.type === "stroke") drawStroke(ctx, item);
  else if (item.type === "shape") drawShape(ctx, item);
  else drawText(ctx, item);
}

function drawStroke(ctx: CanvasRenderingContext2D, stroke: StrokeItem): void {
  if (stroke.pts.length < 4) return;
  ctx.globalAlpha = stroke.tool === "highlighter" ? HIGHLIGHTER_OPACITY : 1;
  ctx.fillStyle = stroke.color;
  ctx.fill(strokePath(stroke));
  ctx.globalAlpha = 1;
}

export function arrowHead(pts: number[], width: number): number[][] {
  const [x1, y1, x2, y2] = pts as [number, number, number, number];
  const length = Math.hypot(x2 - x1, y2 - y1);
  const head = Math.min(Math.max(3 * width, 14), length > 0 ? length : 1);
  const angle = Math.atan2(y2 - y1, x2 - x1);
  const spread = (28 * Math.PI) / 180;
  return [
    [x2, y2],
    [x2 - head * Math.cos(angle - spread), y2 - head * Math.sin(angle - spread)],
    [x2 - head * Math.cos(angle + spread), y2 - head * Math.sin(angle + spread)],
  ];
}

function drawShape(ctx: CanvasRenderingContext2D, shape: Pick<ShapeItem, "kind" | "pts" | "color" | "width">): void {
  const [x1, y1, x2, y2] = shape.pts as [number, number, number, number];
  ctx.strokeStyle = shape.color;
  ctx.fillStyle = shape.color;
  ctx.lineWidth = shape.width;
  ctx.lineCap = "round";
  ctx.lineJoin = "round";
  ctx.beginPath();
  if (shape.kind === "line" || shape.kind === "arrow") {
    let ex = x2;
    let ey = y2;
    if (shape.kind === "arrow") {
      const [, l, r] = arrowHead(shape.pts, shape.width) as [number[], number[], number[]];
      ex = (l[0]! + r[0]!) / 2;
      ey = (l[1]! + r[1]!) / 2;
    }
    ctx.moveTo(x1, y1);
    ctx.lineTo(ex, ey);
    ctx.stroke();
    if (shape.kind === "arrow") {
      const [t, l, r] = arrowHead(shape.pts, shape.width) as [number[], number[], number[]];
      ctx.beginPath();
      ctx.moveTo(t[0]!, t[1]!);
      ctx.lineTo(l[0]!, l[1]!);
      ctx.lineTo(r[0]!, r[1]!);
      ctx.closePath();
      ctx.fill();
    }
  } else if (shape.kind === "rectangle") {
    ctx.strokeRect(Math.min(x1, x2), Math.min(y1, y2), Math.abs(x2 - x1), Math.abs(y2 - y1));
  } else {
    ctx.ellipse((x1 + x2) / 2, (y1 + y2) / 2, Math.abs(x2 - x1) / 2, Math.abs(y2 - y1) / 2, 0, 0, Math.PI * 2);
    ctx.stroke();
  }
}

export { drawShape };

/** The canvas font of a text of ``size`` board units in direction ``dir``. */
export function textFont(dir: "ltr" | "rtl", size: number): string {
  return `${size}px ${dir === "rtl" ? URDU_FONT : LATIN_FONT}`;
}

function drawText(ctx: CanvasRenderingContext2D, text: TextItem): void {
  ctx.fillStyle = text.color;
  ctx.font = textFont(text.dir, text.size);
  ctx.direction = text.dir;
  ctx.textAlign = "start";
  ctx.textBaseline = "alphabetic";
  text.text.split("\n").forEach((line, i) => {
    ctx.fillText(line, text.x, text.y + text.size * (ASCENT + i * LINE_HEIGHT));
  });
  ctx.direction = "inherit";
}

/** Approximate box of a text (for the eraser). */
export function textBox(text: TextItem): [number, number, number, number] {
  const lines = text.text.split("\n");
  const width = Math.max(...lines.map((l) => l.length)) * text.size * 0.55;
  const height = lines.length * text.size * LINE_HEIGHT;
  const x0 = text.dir === "rtl" ? text.x - width : text.x;
  return [x0, text.y, x0 + width, text.y + height];
}
