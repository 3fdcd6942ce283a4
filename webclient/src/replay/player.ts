/**
 * A recorded lesson played back: the live board's model fed from the lesson's event pages
 * instead of a socket, on a player clock.
 *
 * Events are folded in seq order when the clock passes their time (the lesson clock of event i
 * is the largest ``ts`` up to it, as in classroom/timeline.py, so the state at ``t`` is the
 * same prefix of the log the server's timeline folds). Between two ink batches of a stroke the
 * player also draws the part of its next batch drawn by then (``ink``), point by point at the
 * pace the points were drawn: the rule of classroom/timeline.py (``batchTimes`` below is its
 * ``batch_times``), so the browser and the exports show the same stroke at the same moment.
 * A seek forward folds on; a
 * seek back rebuilds from the nearest browser checkpoint (the model's state every
 * ``CHECKPOINT_EVERY`` events, copied) and folds the rest.
 */
import { BoardModel, type BoardItem, type Page } from "../board/model";
import type { WireEvent } from "../net/types";
import { outlinePath, strokeOutline } from "../board/render";

export const CHECKPOINT_EVERY = 2000;

/**
 * When each point of an ink batch shows on the lesson clock (classroom/timeline.py
 * ``batch_times``): point j at ``origin + t_j`` kept inside ``[previous + 1, clock]``; points
 * without times (all ``t`` equal to the stroke's point before) spread evenly over
 * ``(previous, clock]``. ``pts`` is flat ``[x, y, pressure, t, ...]``.
 */
export function batchTimes(pts: number[], origin: number, previous: number, clock: number, tBefore: number): number[] {
  const count = Math.floor(pts.length / 4);
  const out: number[] = [];
  let timed = false;
  for (let j = 0; j < count; j++) if (pts[j * 4 + 3] !== tBefore) timed = true;
  if (!timed) {
    const span = clock - previous;
    for (let j = 0; j < count; j++) out.push(previous + Math.ceil((span * (j + 1)) / count));
    return out;
  }
  for (let j = 0; j < count; j++) out.push(Math.min(clock, Math.max(previous + 1, origin + Math.round(pts[j * 4 + 3]!))));
  return out;
}

interface InkBatch {
  origin: number;
  previous: number;
  tBefore: number;
  times?: number[];
}

export interface ReplayChapter {
  id: string;
  kind: "page" | "poll" | "question" | "keyframe";
  t_ms: number;
  title: string;
  [key: string]: unknown;
}

export interface ReplayAudio {
  segment_id: string;
  url: string;
  t_ms: number;
  duration_ms: number;
  container: string;
}

export interface ReplayInfo {
  lesson: { title: string; class_id: string; trim_start_ms?: number | null; trim_end_ms?: number | null; [key: string]: unknown };
  started_at: number | null;
  duration_ms: number;
  head_seq: number;
  chapters: ReplayChapter[];
  audio: ReplayAudio[];
  shared: boolean;
  viewer: "teacher" | "student" | "library";
}

/** What the class was shown besides the board: poll, results, quiz question, camera. */
export interface Side {
  poll: any | null; // poll_opened data while open
  results: any | null; // poll_results_shown data (+ question) while shown
  question: any | null; // quiz_question_opened data while open
  camera: any | null; // the kept camera_updated / keyframe data shown
  cameraT: number; // when it was seen or captured (lesson ms)
}

function emptySide(): Side {
  return { poll: null, results: null, question: null, camera: null, cameraT: -Infinity };
}

function emptyBoard(me: { role: string; id: string }): BoardModel {
  const model = new BoardModel(me as any);
  model.load({ pages: [{ id: "page-1", background: { kind: "blank", image: null }, items: [] }], order: ["page-1"], current: "page-1" });
  return model;
}

function copyBoard(from: BoardModel): BoardModel {
  const model = new BoardModel(from.me);
  for (const [id, page] of from.pages) {
    const items = new Map<string, BoardItem>();
    for (const [itemId, item] of page.items) {
      const copy = { ...item, hidden: new Set(item.hidden) } as BoardItem;
      if (copy.type === "stroke" || copy.type === "shape") copy.pts = [...copy.pts];
      items.set(itemId, copy);
      model.items.set(itemId, copy);
    }
    model.pages.set(id, { id: page.id, background: page.background, items } as Page);
  }
  model.order = [...from.order];
  model.current = from.current;
  model.rights = { ...from.rights, allowed: new Set(from.rights.allowed), denied: new Set(from.rights.denied) };
  return model;
}

interface Checkpoint {
  count: number;
  board: BoardModel;
  side: Side;
  polls: Map<string, any>;
}

export class ReplayState {
  readonly events: WireEvent[] = [];
  /** Lesson time (ms from the first event) of each event: the running max of ``ts``. */
  readonly clock: number[] = [];
  board: BoardModel;
  side: Side = emptySide();
  /** Events folded into ``board``/``side``. */
  count = 0;
  /** Points each unfinished stroke drew since its last folded batch, by the seek's time. */
  ink = new Map<string, number[]>();
  /** Changes whenever ``ink`` does (a redraw is due). */
  inkKey = "";
  private polls = new Map<string, any>();
  private checkpoints: Checkpoint[] = [];
  private readonly start: number;
  // Ink timing, noted as events arrive: each stroke's origin and its later batches.
  private strokes = new Map<string, { origin: number; lastClock: number; lastT: number; batches: number[] }>();
  private batches = new Map<number, InkBatch>();

  constructor(
    readonly info: ReplayInfo,
    private readonly me: { role: string; id: string },
  ) {
    this.start = info.started_at ?? 0;
    this.board = emptyBoard(me);
    this.checkpoints.push(this.checkpoint());
  }

  /** Lesson ms up to which events have arrived. */
  get loadedTo(): number {
    return this.clock.length ? this.clock[this.clock.length - 1]! : 0;
  }

  /** Set once the last event page arrived. */
  complete = false;

  add(events: WireEvent[]): void {
    let clock = this.loadedTo;
    for (const event of events) {
      const ts = (event as any).ts as number | undefined;
      if (ts) clock = Math.max(clock, ts - this.start);
      this.events.push(event);
      this.clock.push(clock);
      if (event.type === "stroke_started" || event.type === "stroke_extended") this.noteInk(event, this.events.length - 1, clock);
    }
  }

  private noteInk(event: WireEvent, index: number, clock: number): void {
    const d = event.data as any;
    const pts: number[] = d.pts ?? [];
    const lastT = pts.length >= 4 ? pts[pts.length - 1]! : 0;
    const stroke = this.strokes.get(d.id);
    if (event.type === "stroke_started") {
      if (!stroke) this.strokes.set(d.id, { origin: clock - Math.round(lastT), lastClock: clock, lastT, batches: [] });
      return;
    }
    if (!stroke || pts.length < 4) return;
    this.batches.set(index, { origin: stroke.origin, previous: stroke.lastClock, tBefore: stroke.lastT });
    stroke.batches.push(index);
    stroke.lastClock = clock;
    stroke.lastT = lastT;
  }

  /** The ink drawn by ``t`` that the folded board does not hold yet (see ``batchTimes``). */
  private inkAt(t: number): Map<string, number[]> {
    const ink = new Map<string, number[]>();
    for (const item of this.board.items.values()) {
      if (item.type !== "stroke" || item.done) continue;
      const later = this.strokes.get(item.id)?.batches;
      if (!later?.length) continue;
      let lo = 0;
      let hi = later.length;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (later[mid]! < this.count) lo = mid + 1;
        else hi = mid;
      }
      if (lo === later.length) continue;
      const index = later[lo]!;
      const d = this.events[index]!.data as any;
      const have = item.pts.length / 4;
      if (d.offset > have) continue;
      const batch = this.batches.get(index)!;
      batch.times ??= batchTimes(d.pts, batch.origin, batch.previous, this.clock[index]!, batch.tBefore);
      let shown = have - d.offset;
      const first = shown;
      while (shown < batch.times.length && batch.times[shown]! <= t) shown++;
      if (shown > first) ink.set(item.id, (d.pts as number[]).slice(first * 4, shown * 4));
    }
    return ink;
  }

  /** How many events the state at ``t`` folds (clock <= t). */
  indexAt(t: number): number {
    let lo = 0;
    let hi = this.clock.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.clock[mid]! <= t) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** Bring the state to lesson time ``t``; returns how many events were folded. */
  seek(t: number): number {
    const target = this.indexAt(t);
    let best = this.checkpoints[0]!;
    for (const c of this.checkpoints) if (c.count <= target) best = c;
    // Back, or far forward past a checkpoint: start from the checkpoint (at most
    // CHECKPOINT_EVERY events to fold, whatever the jump).
    if (target < this.count || best.count > this.count) {
      this.board = copyBoard(best.board);
      this.side = { ...best.side };
      this.polls = new Map(best.polls);
      this.count = best.count;
    }
    const from = this.count;
    while (this.count < target) {
      this.fold(this.events[this.count]!, this.clock[this.count]!);
      this.count++;
      if (this.count % CHECKPOINT_EVERY === 0 && this.count / CHECKPOINT_EVERY >= this.checkpoints.length) {
        this.checkpoints.push(this.checkpoint());
      }
    }
    this.ink = this.inkAt(t);
    let key = "";
    for (const [id, pts] of this.ink) key += `${id}:${pts.length};`;
    this.inkKey = key;
    return this.count - from;
  }

  private checkpoint(): Checkpoint {
    return { count: this.count, board: copyBoard(this.board), side: { ...this.side }, polls: new Map(this.polls) };
  }

  private fold(event: WireEvent, clock: number): void {
    if (this.board.apply(event)) return;
    const d = event.data as any;
    const side = this.side;
    switch (event.type) {
      case "poll_opened":
        this.polls.set(d.poll_id, d);
        side.poll = d;
        break;
      case "poll_closed":
        if (side.poll?.poll_id === d.poll_id) side.poll = null;
        break;
      case "poll_results_shown":
        side.results = { ...d, question: this.polls.get(d.poll_id)?.question ?? "" };
        break;
      case "poll_results_hidden":
        if (side.results?.poll_id === d.poll_id) side.results = null;
        break;
      case "quiz_question_opened":
        side.question = d;
        break;
      case "quiz_question_closed":
      case "quiz_ended":
        side.question = null;
        break;
      // The camera board as classroom/camera.py ``shown`` has it: the latest view kept for
      // replays (the others were overwritten), or a keyframe captured at or after it.
      case "camera_updated":
        if (d.kept) {
          side.camera = d;
          side.cameraT = clock;
        }
        break;
      case "camera_keyframe_added": {
        const captured = Number(d.captured_at_ms) - this.start;
        if (captured >= side.cameraT) {
          side.camera = d;
          side.cameraT = captured;
        }
        break;
      }
    }
  }
}

// --- shared by the replay page (replay/page.ts) and the offline package (package/main.ts) ---

/** The playback speeds offered, and how far the arrow keys step. */
export const SPEEDS = [0.5, 0.75, 1, 1.5, 2];
export const STEP_MS = 5000;
/** How far the audio may drift from the player's clock before it is put back. */
export const AUDIO_DRIFT_MS = 300;

/** A lesson time as m:ss or h:mm:ss, the digits written by ``num`` (the UI's language). */
export function clock(ms: number, num: (n: number, options?: Intl.NumberFormatOptions) => string): string {
  const total = Math.max(0, Math.floor(ms / 1000));
  const two = (n: number): string => num(n, { minimumIntegerDigits: 2, useGrouping: false });
  const hours = Math.floor(total / 3600);
  const rest = `${two(Math.floor((total % 3600) / 60))}:${two(total % 60)}`;
  return hours ? `${num(hours)}:${rest}` : rest;
}

/** Stroke outlines by stroke id and length: a seek back rebuilds the model, not the outlines. */
export class PathCache {
  private paths = new Map<string, { key: number; path: Path2D }>();
  get(item: BoardItem & { type: "stroke" }): Path2D {
    const key = item.pts.length * 2 + (item.done ? 1 : 0);
    const hit = this.paths.get(item.id);
    if (hit && hit.key === key) return hit.path;
    const path = new Path2D(outlinePath(strokeOutline(item)));
    this.paths.set(item.id, { key, path });
    return path;
  }
}
