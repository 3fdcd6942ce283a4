/**
 * Ordered, retrying writes. Items go in order: a later item (a vote, a page switch) is sent only
 * once the one before it is done. Within an item several messages may be in flight: the server
 * runs a socket's writes one at a time in arrival order, so a stroke's batches are sent at a
 * steady rate (MIN_BATCH_INTERVAL_MS) without waiting for each ack, up to the stroke's bound.
 * A lost send (timeout, disconnect), a retryable error or a reconnect rewinds the item to what the
 * server acknowledged, and it is sent again with the same ids, so a retry is harmless. Errors that
 * a retry cannot fix are reported and dropped.
 */
import { MIN_BATCH_INTERVAL_MS, type Readiness, StrokeSync } from "./stroke";
import type { Ack, ErrorBody, Message } from "./types";

export type Sender = (message: Message) => Promise<Ack>;

/** Codes worth sending again for. */
const RETRY_CODES = new Set(["RATE_LIMITED", "INTERNAL", "STORE_UNAVAILABLE", "TIMEOUT"]);
const FIRST_BACKOFF_MS = 250;
const MAX_BACKOFF_MS = 5000;

export interface OutItem {
  /** What the next message would be: "paced" (at most one per MIN_BATCH_INTERVAL_MS), "now", or null. */
  ready(): Readiness;
  /** Take the next message to send; it is in flight until answered or rewound. */
  next(): Message | null;
  /** Whether ``message`` is in flight (sent since the last rewind, not answered). */
  isInFlight(message: Message): boolean;
  /** Forget what is in flight: send again from what the server acknowledged. */
  rewind(): void;
  ack(message: Message, ack: Ack): "done" | "more" | "failed";
  /** Nothing more will come (a finished stroke, an answered message). */
  readonly done: boolean;
}

export class SingleMessage implements OutItem {
  done = false;
  readonly result: Promise<Ack>;
  private resolve!: (ack: Ack) => void;
  private sending: Message | null = null;

  constructor(readonly message: Message) {
    this.result = new Promise((resolve) => (this.resolve = resolve));
  }

  ready(): Readiness {
    return this.done || this.sending !== null ? null : "now";
  }

  next(): Message | null {
    if (this.ready() === null) return null;
    // A new object per send (same event and payload): a stale answer is told apart by identity.
    this.sending = { ...this.message };
    return this.sending;
  }

  isInFlight(message: Message): boolean {
    return message === this.sending;
  }

  rewind(): void {
    this.sending = null;
  }

  ack(_message: Message, ack: Ack): "done" | "failed" {
    this.sending = null;
    if (!this.done) {
      this.done = true;
      this.resolve(ack);
    }
    return ack.ok ? "done" : "failed";
  }
}

export class StrokeItem implements OutItem {
  constructor(readonly stroke: StrokeSync) {}
  ready(): Readiness {
    return this.stroke.ready();
  }
  next(): Message | null {
    return this.stroke.next();
  }
  isInFlight(message: Message): boolean {
    return this.stroke.isInFlight(message);
  }
  rewind(): void {
    this.stroke.rewind();
  }
  ack(message: Message, ack: Ack): "done" | "more" | "failed" {
    return this.stroke.ack(message, ack);
  }
  get done(): boolean {
    return this.stroke.done;
  }
}

export interface OutboxOptions {
  send: Sender;
  onFailed?: (message: Message, error: ErrorBody) => void;
  onPending?: (count: number) => void;
  sleep?: (ms: number) => Promise<void>;
  now?: () => number;
}

export class Outbox {
  private items: OutItem[] = [];
  private online = false;
  private running = false;
  private lastPacedMs = -Infinity;
  /** No sends before this (a backoff after a lost send or a retryable error). */
  private holdUntilMs = -Infinity;
  private backoffMs = FIRST_BACKOFF_MS;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly now: () => number;
  private wake: (() => void) | null = null;

  constructor(private readonly options: OutboxOptions) {
    this.sleep = options.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms)));
    this.now = options.now ?? (() => performance.now());
  }

  get pending(): number {
    return this.items.length;
  }

  push<T extends OutItem>(item: T): T {
    this.items.push(item);
    this.changed();
    this.kick();
    return item;
  }

  /** Send one message; resolves with its ack once the server answers (possibly after a reconnect). */
  send(event: string, payload: Record<string, unknown>): Promise<Ack> {
    return this.push(new SingleMessage({ event, payload })).result;
  }

  setOnline(online: boolean): void {
    const reconnected = online && !this.online;
    this.online = online;
    if (reconnected) {
      // What was in flight went down with the old socket (its acks, if any, are now stale):
      // send again from what the server acknowledged, at once on the new connection.
      this.items[0]?.rewind();
      this.holdUntilMs = -Infinity;
      this.backoffMs = FIRST_BACKOFF_MS;
    }
    this.kick();
  }

  /** New points (or a finished stroke, or an answer): try sending. */
  kick(): void {
    if (this.wake) {
      const wake = this.wake;
      this.wake = null;
      wake();
    }
    if (!this.running && this.online) void this.pump();
  }

  /** Resolves when every queued write has been answered (for tests and "sending..." states). */
  async drained(): Promise<void> {
    while (this.items.length > 0) await new Promise((r) => setTimeout(r, 20));
  }

  private changed(): void {
    this.options.onPending?.(this.items.length);
  }

  private async pump(): Promise<void> {
    this.running = true;
    try {
      while (this.online && this.items.length > 0) {
        // Only the first item sends: a later one waits until it is done (order across items).
        const item = this.items[0]!;
        if (item.done) {
          this.items.shift();
          this.changed();
          continue;
        }
        const hold = this.holdUntilMs - this.now();
        if (hold > 0) {
          await this.sleep(hold);
          continue;
        }
        const readiness = item.ready();
        if (readiness === null) {
          // A stroke still being drawn, or its window full: wait for points, an answer, the pen.
          await new Promise<void>((resolve) => (this.wake = resolve));
          continue;
        }
        if (readiness === "paced") {
          const wait = this.lastPacedMs + MIN_BATCH_INTERVAL_MS - this.now();
          if (wait > 0) {
            await this.sleep(wait);
            continue; // more points may have arrived: they ride in this batch
          }
          this.lastPacedMs = this.now();
        }
        const message = item.next();
        if (message !== null) void this.dispatch(item, message);
      }
    } finally {
      this.running = false;
    }
  }

  /** Send one message and fold its answer into its item. */
  private async dispatch(item: OutItem, message: Message): Promise<void> {
    let ack: Ack;
    try {
      ack = await this.options.send(message);
    } catch {
      this.retryLater(item, message, undefined); // timed out or disconnected
      return;
    }
    if (!ack.ok && RETRY_CODES.has(ack.error.code)) {
      this.retryLater(item, message, ack.error.retry_after_s);
      return;
    }
    const wasDone = item.done;
    if (ack.ok && item.isInFlight(message)) this.backoffMs = FIRST_BACKOFF_MS;
    const result = item.ack(message, ack);
    if (result === "failed" && !wasDone && !ack.ok) this.options.onFailed?.(message, ack.error);
    this.kick();
  }

  /** A send was lost or refused for now: rewind its item and back off before sending again. */
  private retryLater(item: OutItem, message: Message, retryAfterS: number | undefined): void {
    // An answer to a message from before a rewind: that rewind already covers it.
    if (item.isInFlight(message)) {
      item.rewind();
      if (this.online) {
        const delay = typeof retryAfterS === "number" ? retryAfterS * 1000 : this.backoffMs;
        this.backoffMs = Math.min(this.backoffMs * 2, MAX_BACKOFF_MS);
        this.holdUntilMs = Math.max(this.holdUntilMs, this.now() + delay);
      }
    }
    this.kick();
  }
}
