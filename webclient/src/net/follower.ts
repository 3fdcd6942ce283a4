/**
 * Follow the class log in seq order: skip what was already applied, buffer while a snapshot or a
 * resume is loading, and detect gaps.
 *
 * A teacher sees every event, so a hole in the seqs is a lost event: ``strict`` followers buffer
 * and ask for a resume. Students and boards legitimately miss seqs (other students' votes, private
 * ink), so their followers apply in order and rely on the resume after each reconnect.
 */
import type { WireEvent } from "./types";

export type Offer = "applied" | "skipped" | "buffered" | "gap";

export class LogFollower {
  /** The highest seq applied (or covered by the snapshot / a resume page); -1 before a snapshot. */
  lastSeq = -1;
  private loading = true;
  private buffer = new Map<number, WireEvent>();

  constructor(
    private readonly apply: (event: WireEvent) => void,
    private readonly onGap: (afterSeq: number) => void,
    private readonly strict: boolean,
  ) {}

  get busy(): boolean {
    return this.loading;
  }

  /** A live event arrived. */
  offer(event: WireEvent): Offer {
    const seq = event.seq;
    if (seq === undefined) {
      this.apply(event);
      return "applied";
    }
    if (seq <= this.lastSeq) return "skipped";
    if (this.loading) {
      this.buffer.set(seq, event);
      return "buffered";
    }
    if (this.strict && seq > this.lastSeq + 1) {
      this.buffer.set(seq, event);
      this.loading = true;
      this.onGap(this.lastSeq);
      return "gap";
    }
    this.lastSeq = seq;
    this.apply(event);
    return "applied";
  }

  /** Start over from a snapshot that includes everything up to ``seq``. */
  snapshot(seq: number): void {
    this.lastSeq = seq;
    this.loading = false;
    this.flush();
  }

  /** Hold live events while the client resumes after a reconnect. */
  beginResume(): void {
    this.loading = true;
  }

  /** One ``log_resume`` page: apply its events, then everything up to ``nextAfterSeq`` is covered. */
  page(events: WireEvent[], nextAfterSeq: number): void {
    for (const event of events) {
      if (event.seq !== undefined && event.seq > this.lastSeq) {
        this.lastSeq = event.seq;
        this.apply(event);
      }
    }
    this.lastSeq = Math.max(this.lastSeq, nextAfterSeq);
  }

  /** The resume reached the head: apply what arrived meanwhile, in order. */
  endResume(): void {
    this.loading = false;
    this.flush();
  }

  private flush(): void {
    const seqs = [...this.buffer.keys()].sort((a, b) => a - b);
    const held = this.buffer;
    this.buffer = new Map();
    for (const seq of seqs) {
      const event = held.get(seq);
      // Events the resume did not reach arrived live after it read the head: apply them in order.
      if (event !== undefined && seq > this.lastSeq) {
        this.lastSeq = seq;
        this.apply(event);
      }
    }
  }
}
