import { describe, expect, it } from "vitest";
import { ClockSync, sampleOf } from "../src/net/clock";
import { LogFollower } from "../src/net/follower";
import { Outbox, SingleMessage, StrokeItem } from "../src/net/outbox";
import { MAX_BATCH_POINTS, MAX_BATCHES_IN_FLIGHT, MIN_BATCH_INTERVAL_MS, StrokeSync, type Point } from "../src/net/stroke";
import type { Ack, Message, WireEvent } from "../src/net/types";

const ev = (seq: number, type = "x"): WireEvent => ({ seq, type, data: {} });
const pts = (n: number, from = 0): Point[] => Array.from({ length: n }, (_, i) => [from + i, 10, 0.5, from + i] as Point);

const header = { stroke_id: "k1", page_id: "page-1", tool: "pen" as const, color: "#000000", width: 4 };
const ok: Ack = { ok: true };
const gap = (expected: number): Ack => ({ ok: false, error: { code: "GAP", message: "gap", expected_offset: expected } });
const offsetOf = (m: Message): number => m.payload.offset as number;
const countOf = (m: Message): number => (m.payload.points as Point[]).length;

/** A clock whose sleeps are timers run in time order (a discrete-event simulation). */
class SimClock {
  now = 0;
  private timers: { at: number; order: number; fn: () => void }[] = [];
  private order = 0;

  readonly sleep = (ms: number): Promise<void> => new Promise((resolve) => this.at(this.now + Math.max(0, ms), resolve));

  at(t: number, fn: () => void): void {
    this.timers.push({ at: t, order: this.order++, fn });
  }

  /** Run the timers due by ``until``, letting promises settle after each. */
  async run(until = Infinity): Promise<void> {
    await settle();
    for (;;) {
      this.timers.sort((x, y) => x.at - y.at || x.order - y.order);
      const next = this.timers[0];
      if (next === undefined || next.at > until) break;
      this.timers.shift();
      this.now = Math.max(this.now, next.at);
      next.fn();
      await settle();
    }
    if (until !== Infinity) this.now = Math.max(this.now, until);
  }
}

const settle = (): Promise<void> => new Promise((r) => setImmediate(r));

interface ServerStroke {
  start: string;
  pts: Point[];
  done: boolean;
}

/** The server's stroke rules (classroom/board.py), over points kept in memory. */
class FakeServer {
  readonly strokes = new Map<string, ServerStroke>();
  readonly applied: string[] = [];
  /** Answer the next messages of these events with RATE_LIMITED (without applying them). */
  limit: string[] = [];
  private readonly votes = new Set<string>();

  handle(m: Message): Ack {
    const refuse = (code: string, extra: Record<string, unknown> = {}): Ack => ({ ok: false, error: { code, message: code, ...extra } });
    const at = this.limit.indexOf(m.event);
    if (at >= 0) {
      this.limit.splice(at, 1);
      return refuse("RATE_LIMITED", { retry_after_s: 0.2 });
    }
    const p = m.payload;
    if (m.event === "stroke_start") {
      const known = this.strokes.get(p.stroke_id as string);
      if (known) return known.start === JSON.stringify(p) ? { ok: true, duplicate: true } : refuse("IDEMPOTENCY_CONFLICT");
      this.strokes.set(p.stroke_id as string, { start: JSON.stringify(p), pts: [...(p.points as Point[])], done: false });
      this.applied.push(`start:${p.stroke_id}`);
      return ok;
    }
    if (m.event === "poll_vote") {
      if (this.votes.has(p.vote_id as string)) return { ok: true, duplicate: true };
      this.votes.add(p.vote_id as string);
    }
    if (m.event === "stroke_extend" || m.event === "stroke_end") {
      const s = this.strokes.get(p.stroke_id as string);
      if (!s) return refuse("NOT_FOUND");
      const have = s.pts.length;
      if (m.event === "stroke_end") {
        if (s.done) return { ok: true, duplicate: true };
        if ((p.length as number) > have) return refuse("GAP", { expected_offset: have });
        if ((p.length as number) < have) return refuse("CONFLICT");
        s.done = true;
        this.applied.push(`end:${p.stroke_id}`);
        return ok;
      }
      const offset = p.offset as number;
      if (offset > have) return refuse("GAP", { expected_offset: have });
      const pts = p.points as Point[];
      const overlap = Math.min(have - offset, pts.length);
      if (JSON.stringify(s.pts.slice(offset, offset + overlap)) !== JSON.stringify(pts.slice(0, overlap))) return refuse("CONFLICT");
      if (overlap === pts.length) return { ok: true, duplicate: true };
      if (s.done) return refuse("CONFLICT");
      s.pts.push(...pts.slice(overlap));
      return ok;
    }
    this.applied.push(m.event);
    return ok;
  }
}

/**
 * A socket to the fake server: a message reaches the server after half the round trip (in
 * arrival order) and its ack comes back after the whole. A disconnect drops what has not arrived
 * and every ack not yet back.
 */
class FakeLink {
  online = true;
  latencyMs = 10;
  /** [time, event, messages unanswered including this one] per send. */
  readonly sends: { at: number; message: Message; unanswered: number }[] = [];
  private pending = new Set<{ reject: (e: Error) => void }>();
  private epoch = 0;

  constructor(
    private readonly clock: SimClock,
    readonly server: FakeServer,
  ) {}

  readonly send = (message: Message): Promise<Ack> => {
    if (!this.online) return Promise.reject(new Error("offline"));
    return new Promise<Ack>((resolve, reject) => {
      const entry = { reject };
      const epoch = this.epoch;
      let answer: Ack | undefined;
      this.pending.add(entry);
      this.sends.push({ at: this.clock.now, message, unanswered: this.pending.size });
      this.clock.at(this.clock.now + this.latencyMs / 2, () => {
        if (epoch === this.epoch) answer = this.server.handle(message);
      });
      this.clock.at(this.clock.now + this.latencyMs, () => {
        if (epoch !== this.epoch) return;
        this.pending.delete(entry);
        resolve(answer!);
      });
    });
  };

  /** Drop the socket; unanswered sends fail now, or at ``failAt`` (a timeout after the reconnect). */
  disconnect(failAt?: number): void {
    this.online = false;
    this.epoch += 1;
    const lost = [...this.pending];
    this.pending.clear();
    const fail = (): void => lost.forEach((e) => e.reject(new Error("disconnected")));
    if (failAt === undefined) fail();
    else this.clock.at(failAt, fail);
  }
}

function simulated(latencyMs = 10): { clock: SimClock; server: FakeServer; link: FakeLink; box: Outbox; failed: string[] } {
  const clock = new SimClock();
  const server = new FakeServer();
  const link = new FakeLink(clock, server);
  link.latencyMs = latencyMs;
  const failed: string[] = [];
  const box = new Outbox({ send: link.send, now: () => clock.now, sleep: clock.sleep, onFailed: (m, e) => failed.push(`${m.event}:${e.code}`) });
  box.setOnline(true);
  return { clock, server, link, box, failed };
}

/** Draw ``n`` points into ``stroke``, one every ``everyMs`` from now, then lift the pen. */
function draw(clock: SimClock, box: Outbox, stroke: StrokeSync, n: number, everyMs: number, drawnAt: number[] = []): void {
  for (let i = 0; i < n; i++) {
    clock.at(clock.now + i * everyMs, () => {
      drawnAt.push(clock.now);
      stroke.add(pts(1, i)[0]!);
      box.kick();
    });
  }
  clock.at(clock.now + (n - 1) * everyMs, () => {
    stroke.finish();
    box.kick();
  });
}

describe("StrokeSync pipelining", () => {
  it("sends start, then batches without waiting for acks, then end, and folds the acks in", () => {
    const s = new StrokeSync(header);
    s.add(...pts(3));
    const start = s.next()!;
    expect(start.event).toBe("stroke_start");
    expect(countOf(start)).toBe(3);
    s.add(...pts(100, 3)); // drawn while the start is in flight
    const ext = s.next()!;
    expect(ext).toMatchObject({ event: "stroke_extend", payload: { offset: 3 } });
    expect(countOf(ext)).toBe(MAX_BATCH_POINTS);
    const ext2 = s.next()!;
    expect(offsetOf(ext2)).toBe(3 + MAX_BATCH_POINTS);
    expect(countOf(ext2)).toBe(103 - 3 - MAX_BATCH_POINTS);
    expect(s.next()).toBeNull(); // pen still down, everything drawn is sent
    expect(s.inFlightCount).toBe(3);
    s.finish();
    const end = s.next()!; // at once: the server applies it after the batches
    expect(end).toEqual({ event: "stroke_end", payload: { stroke_id: "k1", length: 103 } });
    expect(s.ack(start, ok)).toBe("more");
    expect(s.ack(ext, ok)).toBe("more");
    expect(s.ack(ext2, ok)).toBe("more");
    expect(s.ackedPoints).toBe(103);
    expect(s.ack(end, ok)).toBe("done");
    expect(s.done).toBe(true);
  });

  it("keeps at most the bound of messages in flight", () => {
    const s = new StrokeSync(header);
    s.add(...pts(MAX_BATCH_POINTS * 8));
    const sent = [s.next()!, s.next()!, s.next()!, s.next()!];
    expect(MAX_BATCHES_IN_FLIGHT).toBe(4);
    expect(s.ready()).toBeNull();
    expect(s.next()).toBeNull();
    s.ack(sent[0]!, ok);
    const fifth = s.next()!;
    expect(offsetOf(fifth)).toBe(4 * MAX_BATCH_POINTS);
    expect(s.next()).toBeNull();
  });

  it("a GAP rewinds to the server's offset, the resend covers exactly the missing points, later GAPs are stale", () => {
    const s = new StrokeSync(header);
    s.add(...pts(10 + 3 * MAX_BATCH_POINTS));
    const [start, a, b, c] = [s.next()!, s.next()!, s.next()!, s.next()!];
    expect(s.ack(start, ok)).toBe("more");
    expect(s.ack(a, ok)).toBe("more");
    // b never reached the server: c is refused, and so would be anything after it.
    expect(s.ack(c, gap(offsetOf(b)))).toBe("more");
    expect(s.sentPoints).toBe(offsetOf(b));
    const resend = s.next()!;
    expect(resend.payload).toEqual(b.payload);
    const more = s.next()!;
    expect(more.payload).toEqual(c.payload);
    expect(s.next()).toBeNull();
    expect(s.ack(b, gap(offsetOf(b)))).toBe("more"); // b's own (stale) answer changes nothing
    expect(s.sentPoints).toBe(offsetOf(c) + countOf(c));
    expect(s.error).toBeNull();
  });

  it("a lost send rewinds to the acknowledged offset and resends the points merged", () => {
    const s = new StrokeSync(header);
    s.add(...pts(10));
    const start = s.next()!;
    s.ack(start, ok);
    s.add(...pts(5, 10));
    const a = s.next()!;
    s.add(...pts(5, 15));
    const b = s.next()!;
    expect([offsetOf(a), offsetOf(b)]).toEqual([10, 15]);
    s.rewind(); // a's ack timed out: b is forgotten too
    const merged = s.next()!;
    expect(merged.payload).toMatchObject({ offset: 10, points: pts(10, 10) });
  });

  it("answers to messages from before a rewind do not double-count", () => {
    const s = new StrokeSync(header);
    s.add(...pts(4));
    const start = s.next()!;
    s.add(...pts(4, 4));
    const a = s.next()!;
    s.rewind(); // a reconnect with both in flight
    const start2 = s.next()!;
    expect(start2).toEqual(start); // a resent start is identical (the server would refuse another)
    const a2 = s.next()!;
    expect(a2.payload).toEqual(a.payload);
    // Both generations are answered, the old ones late and out of order.
    s.ack(start2, ok);
    s.ack(a, ok);
    s.ack(start, ok);
    expect(s.ack(a2, { ok: true, duplicate: true })).toBe("more");
    expect(s.ackedPoints).toBe(8);
    expect(s.inFlightCount).toBe(0);
    s.add(...pts(2, 8));
    expect(s.next()!.payload).toMatchObject({ offset: 8, points: pts(2, 8) });
    // A stale refusal after the rewind fails nothing.
    expect(s.ack(a, { ok: false, error: { code: "NOT_FOUND", message: "lost" } })).toBe("more");
    expect(s.error).toBeNull();
  });

  it("a GAP on stroke_end resends the missing points, then the end", () => {
    const s = new StrokeSync(header);
    s.add(...pts(5));
    const start = s.next()!;
    s.add(...pts(5, 5));
    s.next(); // lost on the way
    s.finish();
    const end = s.next()!;
    s.ack(start, ok);
    expect(s.ack(end, gap(5))).toBe("more");
    expect(s.next()!.payload).toMatchObject({ offset: 5, points: pts(5, 5) });
    expect(s.next()).toMatchObject({ event: "stroke_end", payload: { length: 10 } });
  });

  it("a refusal fails the stroke", () => {
    const s = new StrokeSync(header);
    s.add(...pts(2));
    expect(s.ack(s.next()!, { ok: false, error: { code: "FORBIDDEN", message: "no" } })).toBe("failed");
    expect(s.done).toBe(true);
  });
});

describe("Outbox", () => {
  const noSleep = (): Promise<void> => new Promise((r) => setTimeout(r, 1));

  it("keeps unanswered writes while offline and resends them with the same ids", async () => {
    const sent: Message[] = [];
    let online = false;
    const box = new Outbox({
      sleep: noSleep,
      send: async (m) => {
        sent.push(m);
        if (!online) throw new Error("offline");
        return { ok: true };
      },
    });
    box.setOnline(true);
    const vote = box.send("poll_vote", { poll_id: "p1", vote_id: "v-1", option: 1 });
    await new Promise((r) => setTimeout(r, 0));
    box.setOnline(false); // the first attempt timed out and the socket dropped
    online = true;
    box.setOnline(true);
    const ack = await vote;
    expect(ack.ok).toBe(true);
    expect(sent.length).toBeGreaterThanOrEqual(2);
    expect(new Set(sent.map((m) => JSON.stringify(m))).size).toBe(1);
  });

  it("sends in order, one at a time, retries RATE_LIMITED and reports refusals", async () => {
    const order: string[] = [];
    const failed: string[] = [];
    let limited = true;
    const box = new Outbox({
      sleep: noSleep,
      onFailed: (m) => failed.push(m.event),
      send: async (m): Promise<Ack> => {
        order.push(m.event);
        if (m.event === "b" && limited) {
          limited = false;
          return { ok: false, error: { code: "RATE_LIMITED", message: "slow", retry_after_s: 0 } };
        }
        if (m.event === "c") return { ok: false, error: { code: "FORBIDDEN", message: "no" } };
        return { ok: true };
      },
    });
    box.setOnline(true);
    const acks = await Promise.all(["a", "b", "c", "d"].map((e) => box.send(e, {})));
    expect(order).toEqual(["a", "b", "b", "c", "d"]);
    expect(acks.map((a) => a.ok)).toEqual([true, true, false, true]);
    expect(failed).toEqual(["c"]);
  });

  it("paces stroke batches and merges points drawn meanwhile", async () => {
    const { clock, link, box } = simulated();
    const stroke = new StrokeSync({ ...header, stroke_id: "k2" });
    stroke.add(...pts(1));
    box.push(new StrokeItem(stroke));
    for (let i = 1; i < 40; i++) {
      stroke.add(...pts(1, i));
      box.kick();
    }
    stroke.finish();
    box.kick();
    await clock.run();
    const events = link.sends.map((s) => s.message.event);
    expect(events).toEqual(["stroke_start", "stroke_extend", "stroke_end"]); // 40 points, not 40 messages
    expect(link.sends[1]!.at - link.sends[0]!.at).toBeGreaterThanOrEqual(MIN_BATCH_INTERVAL_MS);
    expect(link.sends.at(-1)!.message.payload.length).toBe(40);
    expect(box.pending).toBe(0);
  });

  it("sends ink at the steady rate with several batches in flight while acks are slow", async () => {
    const { clock, server, link, box } = simulated(100); // a loaded server: acks take 100 ms
    const stroke = new StrokeSync(header);
    box.push(new StrokeItem(stroke));
    const drawnAt: number[] = [];
    draw(clock, box, stroke, 150, 5, drawnAt); // 750 ms of ink, a point every 5 ms
    await clock.run();
    expect(box.pending).toBe(0);
    expect(server.strokes.get("k1")!.pts).toEqual(pts(150));
    const batches = link.sends.filter((s) => s.message.event !== "stroke_end");
    const most = Math.max(...batches.map((s) => s.unanswered));
    expect(most).toBe(MAX_BATCHES_IN_FLIGHT); // the bound is reached and never passed
    const gaps = batches.slice(1).map((s, i) => s.at - batches[i]!.at);
    expect(Math.min(...gaps)).toBeGreaterThanOrEqual(MIN_BATCH_INTERVAL_MS);
    // Every point leaves within about one interval of being drawn, not one ack (100 ms) later.
    const sentAt = batches.flatMap((s) => Array<number>(countOf(s.message)).fill(s.at));
    const waits = sentAt.map((t, i) => t - drawnAt[i]!);
    expect(Math.max(...waits)).toBeLessThanOrEqual(MIN_BATCH_INTERVAL_MS + 5);
    // stroke_end follows the last batch at once, before that batch's ack.
    const [last, end] = link.sends.slice(-2);
    expect(end!.message.event).toBe("stroke_end");
    expect(end!.at).toBe(last!.at);
    expect(end!.unanswered).toBeGreaterThan(1);
  });

  it("a later write goes only after the stroke before it is done", async () => {
    const { clock, server, link, box } = simulated(40);
    const stroke = new StrokeSync(header);
    box.push(new StrokeItem(stroke));
    draw(clock, box, stroke, 100, 4);
    const vote = box.send("poll_vote", { poll_id: "p1", vote_id: "v-1", option: 1 });
    await clock.run();
    expect((await vote).ok).toBe(true);
    const events = link.sends.map((s) => s.message.event);
    expect(events.at(-1)).toBe("poll_vote");
    expect(events.filter((e) => e === "poll_vote")).toHaveLength(1);
    const endAckedAt = link.sends.find((s) => s.message.event === "stroke_end")!.at + 40;
    expect(link.sends.at(-1)!.at).toBeGreaterThanOrEqual(endAckedAt);
    expect(server.applied).toEqual(["start:k1", "end:k1", "poll_vote"]);
  });

  it("a disconnect with batches in flight resends from the acknowledged offset: every point once, in order", async () => {
    const { clock, server, link, box, failed } = simulated(60);
    const stroke = new StrokeSync(header);
    box.push(new StrokeItem(stroke));
    draw(clock, box, stroke, 200, 5);
    await clock.run(300);
    expect(stroke.inFlightCount).toBeGreaterThan(1);
    const ackedAtDrop = stroke.ackedPoints;
    const serverHad = server.strokes.get("k1")!.pts.length;
    link.disconnect(2000); // the lost sends time out only after the reconnect
    box.setOnline(false);
    await clock.run(500);
    link.online = true;
    const firstResend = link.sends.length;
    box.setOnline(true);
    await clock.run();
    expect(serverHad).toBeGreaterThan(ackedAtDrop); // some batches arrived but their acks did not
    expect(link.sends[firstResend]!.message.payload.offset).toBe(ackedAtDrop);
    expect(server.strokes.get("k1")).toMatchObject({ pts: pts(200), done: true });
    expect(failed).toEqual([]);
    expect(box.pending).toBe(0);
  });

  it("a retryable error rewinds the stroke to its acknowledged offset and backs off", async () => {
    const { clock, server, link, box, failed } = simulated(20);
    server.limit = ["stroke_extend"]; // the first batch after the start is refused for now
    const stroke = new StrokeSync(header);
    box.push(new StrokeItem(stroke));
    draw(clock, box, stroke, 120, 2);
    await clock.run();
    const extends_ = link.sends.filter((s) => s.message.event === "stroke_extend");
    const limited = extends_[0]!;
    const resend = extends_.find((s) => s.at > limited.at && offsetOf(s.message) === offsetOf(limited.message))!;
    expect(resend.at - (limited.at + 20)).toBeGreaterThanOrEqual(200); // retry_after_s
    expect(server.strokes.get("k1")).toMatchObject({ pts: pts(120), done: true });
    expect(failed).toEqual([]); // the GAPs of the batches sent after it were stale
  });

  it("survives random drops, timeouts and rate limits with every point once, in order", async () => {
    let seed = 7;
    const random = (): number => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    for (let round = 0; round < 25; round++) {
      const { clock, server, link, box, failed } = simulated(10 + Math.floor(random() * 120));
      const strokes = [0, 1, 2].map((i) => new StrokeSync({ ...header, stroke_id: `k${i}` }));
      for (const stroke of strokes) {
        box.push(new StrokeItem(stroke));
        draw(clock, box, stroke, 20 + Math.floor(random() * 200), 1 + Math.floor(random() * 8));
      }
      const vote = box.send("poll_vote", { poll_id: "p1", vote_id: "v-1", option: 1 });
      for (let t = 50; t < 3000; t += 50) {
        const roll = random();
        if (roll < 0.05) {
          clock.at(t, () => {
            link.disconnect(random() < 0.5 ? undefined : t + 400);
            box.setOnline(false);
          });
          clock.at(t + 100, () => {
            link.online = true;
            box.setOnline(true);
          });
        } else if (roll < 0.1) {
          clock.at(t, () => server.limit.push(random() < 0.5 ? "stroke_extend" : "stroke_start"));
        }
      }
      await clock.run();
      link.online = true;
      box.setOnline(true);
      await clock.run();
      expect(failed).toEqual([]);
      for (const stroke of strokes) expect(server.strokes.get(stroke.header.stroke_id)).toMatchObject({ pts: stroke.points, done: true });
      expect((await vote).ok).toBe(true);
      // Each write after the one before it was done: the vote after the last stroke's end.
      expect(server.applied).toEqual([...strokes.flatMap((s) => [`start:${s.header.stroke_id}`, `end:${s.header.stroke_id}`]), "poll_vote"]);
    }
  });

  it("resolves a single message once", () => {
    const item = new SingleMessage({ event: "x", payload: {} });
    item.ack(item.message, { ok: true });
    expect(item.done).toBe(true);
    expect(item.next()).toBeNull();
  });
});

describe("LogFollower gap detection and resume", () => {
  it("buffers until the snapshot, skips what it covers, applies the rest in order", () => {
    const applied: number[] = [];
    const f = new LogFollower((e) => applied.push(e.seq!), () => undefined, true);
    expect(f.offer(ev(5))).toBe("buffered");
    expect(f.offer(ev(6))).toBe("buffered");
    f.snapshot(5);
    expect(applied).toEqual([6]);
    expect(f.offer(ev(6))).toBe("skipped");
    expect(f.offer(ev(7))).toBe("applied");
  });

  it("a strict follower detects a gap, resumes, and applies held events after the page", () => {
    const applied: number[] = [];
    const gaps: number[] = [];
    const f = new LogFollower((e) => applied.push(e.seq!), (after) => gaps.push(after), true);
    f.snapshot(10);
    expect(f.offer(ev(11))).toBe("applied");
    expect(f.offer(ev(14))).toBe("gap");
    expect(gaps).toEqual([11]);
    expect(f.offer(ev(15))).toBe("buffered");
    f.page([ev(12), ev(13), ev(14)], 14);
    f.endResume();
    expect(applied).toEqual([11, 12, 13, 14, 15]);
    expect(f.lastSeq).toBe(15);
  });

  it("a reconnect resume covers seqs this viewer may not see", () => {
    const applied: number[] = [];
    const f = new LogFollower((e) => applied.push(e.seq!), () => undefined, false);
    f.snapshot(3);
    f.offer(ev(5)); // 4 was another student's vote: not a gap for a student
    f.beginResume();
    f.offer(ev(9));
    f.page([ev(5), ev(7)], 8);
    f.endResume();
    expect(applied).toEqual([5, 7, 9]);
    expect(f.lastSeq).toBe(9);
  });

  it("transient notices (no seq) pass straight through", () => {
    const types: string[] = [];
    const f = new LogFollower((e) => types.push(e.type), () => undefined, true);
    f.snapshot(0);
    f.offer({ type: "poll_tally", data: {} });
    expect(types).toEqual(["poll_tally"]);
  });
});

describe("clock offset", () => {
  it("uses the midpoint of the round trip", () => {
    expect(sampleOf(1000, 1100, 5050)).toEqual({ rttMs: 100, offsetMs: 4000 });
  });

  it("trusts the fastest round trip and corrects countdowns", () => {
    let now = 10_000;
    const clock = new ClockSync(8, () => now);
    clock.add(sampleOf(0, 400, 2300)); // slow, asymmetric: offset 2100
    clock.add(sampleOf(0, 20, 2010)); // fast: offset 2000
    expect(clock.offsetMs).toBe(2000);
    expect(clock.serverNow()).toBe(12_000);
    expect(clock.remainingMs(17_000)).toBe(5000);
    now = 20_000;
    expect(clock.remainingMs(17_000)).toBe(0);
  });
});
