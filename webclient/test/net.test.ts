import { describe, expect, it } from "vitest";
import { ClockSync, sampleOf } from "../src/net/clock";
import { LogFollower } from "../src/net/follower";
import { Outbox, SingleMessage, StrokeItem } from "../src/net/outbox";
import { MAX_BATCH_POINTS, StrokeSync, type Point } from "../src/net/stroke";
import type { Ack, Message, WireEvent } from "../src/net/types";

const ev = (seq: number, type = "x"): WireEvent => ({ seq, type, data: {} });
const pts = (n: number, from = 0): Point[] => Array.from({ length: n }, (_, i) => [from + i, 10, 0.5, from + i] as Point);

describe("StrokeSync batching", () => {
  const header = { stroke_id: "k1", page_id: "page-1", tool: "pen" as const, color: "#000000", width: 4 };

  it("sends start, extends from the acknowledged offset, then end", () => {
    const s = new StrokeSync(header);
    s.add(...pts(3));
    const start = s.next()!;
    expect(start.event).toBe("stroke_start");
    expect((start.payload.points as Point[]).length).toBe(3);
    s.add(...pts(100, 3)); // drawn while the start was in flight
    expect(s.ack(start, { ok: true })).toBe("more");
    const ext = s.next()!;
    expect(ext).toMatchObject({ event: "stroke_extend", payload: { offset: 3 } });
    expect((ext.payload.points as Point[]).length).toBe(MAX_BATCH_POINTS);
    s.ack(ext, { ok: true });
    const ext2 = s.next()!;
    expect(ext2.payload.offset).toBe(3 + MAX_BATCH_POINTS);
    expect((ext2.payload.points as Point[]).length).toBe(103 - 3 - MAX_BATCH_POINTS);
    s.ack(ext2, { ok: true });
    expect(s.next()).toBeNull(); // pen still down, nothing new
    s.finish();
    const end = s.next()!;
    expect(end).toEqual({ event: "stroke_end", payload: { stroke_id: "k1", length: 103 } });
    expect(s.ack(end, { ok: true })).toBe("done");
    expect(s.done).toBe(true);
  });

  it("a lost ack resends the same offset, and GAP rewinds to the server's offset", () => {
    const s = new StrokeSync(header);
    s.add(...pts(10));
    const start = s.next()!;
    s.ack(start, { ok: true });
    s.add(...pts(10, 10));
    const ext = s.next()!;
    expect(s.next()).toEqual(ext); // not acked yet: a retry is the identical message
    s.ack(ext, { ok: false, error: { code: "GAP", message: "gap", expected_offset: 4 } });
    expect(s.next()!.payload.offset).toBe(4);
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
    let now = 0;
    const sent: Message[] = [];
    const box = new Outbox({
      now: () => now,
      sleep: async (ms) => {
        now += ms;
      },
      send: async (m) => {
        sent.push(m);
        return { ok: true };
      },
    });
    box.setOnline(true);
    const stroke = new StrokeSync({ stroke_id: "k2", page_id: "page-1", tool: "pen", color: "#000000", width: 4 });
    stroke.add(...pts(1));
    box.push(new StrokeItem(stroke));
    for (let i = 1; i < 40; i++) {
      stroke.add(...pts(1, i));
      box.kick();
    }
    stroke.finish();
    box.kick();
    await box.drained();
    const events = sent.map((m) => m.event);
    expect(events[0]).toBe("stroke_start");
    expect(events.at(-1)).toBe("stroke_end");
    expect(events.length).toBeLessThan(10); // 40 points, not 40 messages
    expect(sent.at(-1)!.payload.length).toBe(40);
  });

  it("resolves a single message once", async () => {
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
