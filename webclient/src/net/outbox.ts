/**
 * Ordered, retrying writes. One message is in flight at a time (the server may run concurrent
 * events of one socket out of order); an unanswered message is resent after a reconnect with the
 * same client ids, so a retry is harmless. Errors that a retry cannot fix are reported and dropped.
 */
import { MIN_BATCH_INTERVAL_MS, StrokeSync } from "./stroke";
import type { Ack, ErrorBody, Message } from "./types";

export type Sender = (message: Message) => Promise<Ack>;

/** Codes worth retrying the same message for. */
const RETRY_CODES = new Set(["RATE_LIMITED", "INTERNAL", "STORE_UNAVAILABLE", "TIMEOUT"]);

export interface OutItem {
  next(): Message | null;
  ack(message: Message, ack: Ack): "done" | "more" | "failed";
  /** Nothing more will come (a finished stroke, a sent message). */
  readonly done: boolean;
  readonly paced?: boolean;
}

export class SingleMessage implements OutItem {
  done = false;
  readonly result: Promise<Ack>;
  private resolve!: (ack: Ack) => void;

  constructor(readonly message: Message) {
    this.result = new Promise((resolve) => (this.resolve = resolve));
  }

  next(): Message | null {
    return this.done ? null : this.message;
  }

  ack(_message: Message, ack: Ack): "done" | "failed" {
    this.done = true;
    this.resolve(ack);
    return ack.ok ? "done" : "failed";
  }
}

export class StrokeItem implements OutItem {
  readonly paced = true;
  constructor(readonly stroke: StrokeSync) {}
  next(): Message | null {
    return this.stroke.next();
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
    this.online = online;
    if (online) this.kick();
  }

  /** New points (or a finished stroke): try sending. */
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
    let backoff = 250;
    try {
      while (this.online && this.items.length > 0) {
        const item = this.items[0]!;
        if (item.done) {
          this.items.shift();
          this.changed();
          continue;
        }
        const message = item.next();
        if (message === null) {
          // A stroke still being drawn: wait for more points or for the pen to lift.
          await new Promise<void>((resolve) => (this.wake = resolve));
          continue;
        }
        if (item.paced) {
          const wait = this.lastPacedMs + MIN_BATCH_INTERVAL_MS - this.now();
          if (wait > 0) {
            await this.sleep(wait);
            continue; // more points may have arrived: recompute the message
          }
          this.lastPacedMs = this.now();
        }
        let ack: Ack;
        try {
          ack = await this.options.send(message);
        } catch {
          // Timed out or disconnected: keep the message; resend when online again.
          if (!this.online) break;
          await this.sleep(backoff);
          backoff = Math.min(backoff * 2, 5000);
          continue;
        }
        if (!ack.ok && RETRY_CODES.has(ack.error.code)) {
          const after = ack.error.retry_after_s;
          await this.sleep(typeof after === "number" ? after * 1000 : backoff);
          backoff = Math.min(backoff * 2, 5000);
          continue;
        }
        backoff = 250;
        const result = item.ack(message, ack);
        if (result === "failed" && !ack.ok) this.options.onFailed?.(message, ack.error);
        if (item.done) {
          this.items.shift();
          this.changed();
        }
      }
    } finally {
      this.running = false;
    }
  }
}
