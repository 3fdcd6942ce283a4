/**
 * A recorded lesson played back: the live board's model fed from the lesson's event pages
 * instead of a socket, on a player clock.
 *
 * Events are folded in seq order when the clock passes their time (the lesson clock of event i
 * is the largest ``ts`` up to it, as in classroom/timeline.py, so the state at ``t`` is the
 * same prefix of the log the server's timeline folds). Ink batches arrive every few tens of ms
 * while a stroke is drawn, so strokes grow at their recorded pace. A seek forward folds on; a
 * seek back rebuilds from the nearest browser checkpoint (the model's state every
 * ``CHECKPOINT_EVERY`` events, copied) and folds the rest.
 */
import { BoardModel, type BoardItem, type Page } from "../board/model";
import type { WireEvent } from "../net/types";

export const CHECKPOINT_EVERY = 2000;

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
  lesson: { title: string; class_id: string; [key: string]: unknown };
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
  camera: any | null; // the latest camera_updated / keyframe data
  cameraT: number; // when the camera view last changed (lesson ms)
}

function emptySide(): Side {
  return { poll: null, results: null, question: null, camera: null, cameraT: -1 };
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
  private polls = new Map<string, any>();
  private checkpoints: Checkpoint[] = [];
  private readonly start: number;

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
    }
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
      // The live view's picture is replaced under one id; the keyframes are kept.
      case "camera_keyframe_added":
        side.camera = d;
        side.cameraT = clock;
        break;
    }
  }
}
