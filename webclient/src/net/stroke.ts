/**
 * Send one freehand stroke in batches: ``stroke_start`` (first points), ``stroke_extend`` batches,
 * ``stroke_end``, several messages in flight at once.
 *
 * The server runs a socket's writes one at a time in arrival order, so a batch need not wait for
 * the previous one's ack: ``next()`` takes the points after ``sent`` (what the messages sent so far
 * cover) while fewer than MAX_BATCHES_IN_FLIGHT of this stroke's batches are unanswered. Waiting
 * for each ack made the teacher's ink reach students in lumps under load (draw-to-student p50
 * 38/96/194 ms at 10/20/30 classes of 30 while delivery took a few ms).
 *
 * ``acked`` is what the server has acknowledged. A ``GAP`` rewinds ``sent`` to the server's
 * ``expected_offset``; a lost send, a retryable error or a reconnect rewinds it to ``acked``
 * (``rewind()``). The server trims a resent batch to its new points, so resending merged batches
 * from ``acked`` is harmless. A rewind forgets the messages in flight: their answers, when they
 * come, are stale (they may only raise ``acked``, never move ``sent`` back or fail the stroke).
 * In-flight messages are tracked by identity, so no answer is counted twice.
 */
import { MAX_BATCH_POINTS } from "./protocol.gen";
import type { Ack, Message } from "./types";

export { MAX_BATCH_POINTS };
/** At most ~30 batches a second per stroke: the steady rate ink is sent at. */
export const MIN_BATCH_INTERVAL_MS = 33;
/** Unanswered batches (start, extends) of one stroke: ~130 ms of ink at the steady rate. */
export const MAX_BATCHES_IN_FLIGHT = 4;

export type Point = [number, number, number, number];

export interface StrokeHeader {
  stroke_id: string;
  page_id: string;
  tool: "pen" | "highlighter";
  color: string;
  width: number;
}

export type AckResult = "done" | "more" | "failed";

/** What the next message would be: an ink batch (paced), ``stroke_end`` (at once), or nothing yet. */
export type Readiness = "paced" | "now" | null;

export class StrokeSync {
  readonly points: Point[] = [];
  error: string | null = null;
  private finished = false;
  /** Points in ``stroke_start``, fixed when first sent: a resend must be identical. */
  private startPoints: number | null = null;
  private startSent = false;
  private startAcked = false;
  private acked = 0;
  private sent = 0;
  private endSent = false;
  private endMessage: Message | null = null;
  private endAcked = false;
  private readonly inFlight = new Set<Message>();

  constructor(
    readonly header: StrokeHeader,
    readonly maxInFlight = MAX_BATCHES_IN_FLIGHT,
  ) {}

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

  /** Points covered by the messages sent since the last rewind. */
  get sentPoints(): number {
    return this.sent;
  }

  /** This stroke's unanswered messages (sent since the last rewind). */
  get inFlightCount(): number {
    return this.inFlight.size;
  }

  /** Whether ``message`` was sent since the last rewind and is not answered yet. */
  isInFlight(message: Message): boolean {
    return this.inFlight.has(message);
  }

  ready(): Readiness {
    if (this.done) return null;
    if (!this.startSent || this.sent < this.points.length) return this.batchesInFlight() < this.maxInFlight ? "paced" : null;
    // The end carries no points: it goes right after the last batch (the server applies it after).
    if (this.finished && !this.endSent) return "now";
    return null;
  }

  private batchesInFlight(): number {
    const endInFlight = this.endMessage !== null && this.inFlight.has(this.endMessage);
    return this.inFlight.size - (endInFlight ? 1 : 0);
  }

  /** Take the next message to send (it is then in flight), or null while there is none. */
  next(): Message | null {
    const kind = this.ready();
    if (kind === null) return null;
    let message: Message;
    if (!this.startSent) {
      this.startPoints ??= Math.min(this.points.length, MAX_BATCH_POINTS);
      message = {
        event: "stroke_start",
        payload: { ...this.header, points: this.points.slice(0, this.startPoints) },
      };
      this.startSent = true;
      this.sent = Math.max(this.sent, this.startPoints);
    } else if (kind === "paced") {
      const points = this.points.slice(this.sent, this.sent + MAX_BATCH_POINTS);
      message = { event: "stroke_extend", payload: { stroke_id: this.header.stroke_id, offset: this.sent, points } };
      this.sent += points.length;
    } else {
      message = { event: "stroke_end", payload: { stroke_id: this.header.stroke_id, length: this.points.length } };
      this.endSent = true;
      this.endMessage = message;
    }
    this.inFlight.add(message);
    return message;
  }

  /** Forget the messages in flight and send again from what the server acknowledged. */
  rewind(): void {
    this.inFlight.clear();
    if (!this.startAcked) this.startSent = false;
    this.sent = this.acked;
    if (!this.endAcked) this.endSent = false;
  }

  /** Fold the server's answer to ``message`` in. */
  ack(message: Message, ack: Ack): AckResult {
    const current = this.inFlight.delete(message);
    if (this.done) return this.endAcked ? "done" : "failed";
    if (!ack.ok) {
      // An error to a message sent before a rewind: the rewind already resends what it covered.
      if (!current) return "more";
      if (ack.error.code === "GAP" && typeof ack.error.expected_offset === "number") {
        this.inFlight.clear(); // the later batches start past the gap: their GAPs are stale
        this.startAcked = true; // only a started stroke has an offset
        this.startSent = true;
        this.sent = Math.max(0, Math.min(ack.error.expected_offset, this.points.length));
        this.acked = Math.min(this.acked, this.sent);
        this.endSent = false;
        return "more";
      }
      this.error = ack.error.code;
      this.inFlight.clear();
      return "failed";
    }
    // Success is a fact about the server whenever it arrives: it may raise ``acked`` (never twice:
    // the offsets are absolute), and nothing below ``acked`` needs sending again.
    if (message.event === "stroke_end") {
      this.endAcked = true;
      this.inFlight.clear();
      return "done";
    }
    const points = (message.payload.points as Point[] | undefined)?.length ?? 0;
    const offset = message.event === "stroke_extend" ? (message.payload.offset as number) : 0;
    this.acked = Math.max(this.acked, offset + points);
    // The server has the stroke (an extend succeeds only after its start).
    this.startAcked = true;
    this.startSent = true;
    this.sent = Math.max(this.sent, this.acked);
    return "more";
  }
}
