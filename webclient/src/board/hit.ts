/** Eraser hit testing in board units: which items does a circle at (x, y) of radius r touch? */
import type { BoardItem } from "./model";
import { textBox } from "./render";

export function segmentDistance(px: number, py: number, ax: number, ay: number, bx: number, by: number): number {
  const dx = bx - ax;
  const dy = by - ay;
  const len2 = dx * dx + dy * dy;
  const t = len2 === 0 ? 0 : Math.max(0, Math.min(1, ((px - ax) * dx + (py - ay) * dy) / len2));
  return Math.hypot(px - (ax + t * dx), py - (ay + t * dy));
}

export function hits(item: BoardItem, x: number, y: number, r: number): boolean {
  if (item.type === "stroke") {
    const p = item.pts;
    const reach = r + item.width / 2;
    if (p.length === 4) return Math.hypot(x - p[0]!, y - p[1]!) <= reach;
    for (let i = 0; i + 7 < p.length; i += 4) {
      if (segmentDistance(x, y, p[i]!, p[i + 1]!, p[i + 4]!, p[i + 5]!) <= reach) return true;
    }
    return false;
  }
  if (item.type === "shape") {
    const [x1, y1, x2, y2] = item.pts as [number, number, number, number];
    const reach = r + item.width / 2;
    if (item.kind === "line" || item.kind === "arrow") return segmentDistance(x, y, x1, y1, x2, y2) <= reach;
    if (item.kind === "rectangle") {
      return (
        segmentDistance(x, y, x1, y1, x2, y1) <= reach ||
        segmentDistance(x, y, x2, y1, x2, y2) <= reach ||
        segmentDistance(x, y, x2, y2, x1, y2) <= reach ||
        segmentDistance(x, y, x1, y2, x1, y1) <= reach
      );
    }
    const cx = (x1 + x2) / 2;
    const cy = (y1 + y2) / 2;
    const rx = Math.max(Math.abs(x2 - x1) / 2, 1);
    const ry = Math.max(Math.abs(y2 - y1) / 2, 1);
    const k = Math.hypot((x - cx) / rx, (y - cy) / ry);
    return Math.abs(k - 1) * Math.min(rx, ry) <= reach;
  }
  const [a, b, c, d] = textBox(item);
  return x >= a - r && x <= c + r && y >= b - r && y <= d + r;
}
