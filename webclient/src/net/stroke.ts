/**
 * Send one freehand stroke in batches: ``stroke_start`` (first points), ``stroke_extend`` from
 * the acknowledged offset, ``stroke_end``. The messages are recomputed from what the server has
 * acknowledged, so points drawn while a message is in flight (or while offline) ride in the next
 * batch, a retry repeats the same offset (harmless), and a ``GAP`` error rewinds to the offset
 * the server expects.
 */
import { MAX_BATCH_POINTS } from "./protocol.gen";
import type { Ack, Message } from "./types";

export { MAX_BATCH_POINTS };
/** At most ~30 batches a second per stroke. */
export const MIN_BATCH_INTERVAL_MS = 33;

export type Point = [number, number, number, number];

export interface StrokeHeader {
  stroke_id: string;
  page_id: string;
  tool: "pen" | "highlighter";
  color: string;
  width: number;
}

export type AckResult = "done" | "more" | "failed";

export class StrokeSync {
  readonly points: Point[] = [];
  private started = false;
  private acked = 0;
  private finished = false;
  private endAcked = false;
  error: string | null = null;

  constructor(readonly header: StrokeHeader) {}

  add(...points: Point[]): void {
    if (this.finished) return;
    this.points.push(...points);
  }

  /** The pen lifted: no more points. */
  finish(): void {
    this.finished = true;
  }

  get done(): boolean {
    return this.endAcked || this.error !== null;
  }

  /** Points the server has acknowledged. */
  get ackedPoints(): number {
    return this.acked;
  }

  /** The next message to send, or null while waiting for more points. */
  next(): Message | null {
    if (this.done) return null;
    if (!this.started) {
      return {
        event: "stroke_start",
        payload: { ...this.header, points: this.points.slice(0, MAX_BATCH_POINTS) },
      };
    }
    if (this.acked < this.points.length) {
      return {
        event: "stroke_extend",
        payload: {
          stroke_id: this.header.stroke_id,
          offset: this.acked,
          points: this.points.slice(this.acked, this.acked + MAX_BATCH_POINTS),
        },
      };
    }
    if (this.finished) {
      return { event: "stroke_end", payload: { stroke_id: this.header.stroke_id, length: this.points.length } };
    }
    return null;
  }

  /** Fold the server's answer to ``message`` in. */
  ack(message: Message, ack: Ack): AckResult {
    if (!ack.ok) {
      if (ack.error.code === "GAP" && typeof ack.error.expected_offset === "number") {
        this.started = true;
        this.acked = Math.min(ack.error.expected_offset, this.points.length);
        return "more";
      }
      this.error = ack.error.code;
      return "failed";
    }
    const sent = (message.payload.points as Point[] | undefined)?.length ?? 0;
    if (message.event === "stroke_start") {
      this.started = true;
      this.acked = Math.max(this.acked, sent);
    } else if (message.event === "stroke_extend") {
      this.acked = Math.max(this.acked, (message.payload.offset as number) + sent);
    } else if (message.event === "stroke_end") {
      this.endAcked = true;
      return "done";
    }
    return "more";
  }
}
