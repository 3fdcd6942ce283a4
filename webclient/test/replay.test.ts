import { describe, expect, it } from "vitest";
import { CHECKPOINT_EVERY, ReplayState, batchTimes, type ReplayInfo } from "../src/replay/player";
import type { WireEvent } from "../src/net/types";

const T0 = 1_764_280_000_000;

function lesson(strokes: number): WireEvent[] {
  const events: WireEvent[] = [];
  let seq = 0;
  let ts = T0;
  const push = (type: string, data: Record<string, unknown>): void => {
    events.push({ seq: ++seq, type, ts, by: { role: "teacher", id: "t" }, data });
  };
  push("page_added", { page: "page-2", index: 1, switch: false, background: { kind: "blank", image: null } });
  for (let n = 0; n < strokes; n++) {
    ts += 100;
    if (n % 500 === 250) push("page_switched", { page: n % 1000 === 250 ? "page-2" : "page-1" });
    const page = events.filter((e) => e.type === "page_switched").at(-1)?.data.page ?? "page-1";
    push("stroke_started", { id: `s${n}`, page, tool: "pen", color: "#000", width: 3, pts: [n, n, 0.5, 0] });
    ts += 16;
    push("stroke_extended", { id: `s${n}`, offset: 1, pts: [n + 1, n, 0.5, 16, n + 2, n, 0.5, 32] });
    push("stroke_ended", { id: `s${n}`, length: 3 });
    if (n === 700) push("poll_opened", { poll_id: "p1", question: "2 + 2?", options: ["3", "4"] });
    if (n === 710) push("poll_closed", { poll_id: "p1" });
    if (n === 711) push("poll_results_shown", { poll_id: "p1", tally: { options: ["3", "4"], counts: [1, 5] } });
    // An event stamped a little earlier by another server process: the clock never runs back.
    if (n === 800) push("quiz_question_opened", { quiz_id: "q1", question: 0, questions: 5, type: "choice", text: "7 x 8?", options: ["54", "56"] });
    if (n === 805) push("quiz_question_closed", { quiz_id: "q1", question: 0 });
    if (n === 1200) push("camera_keyframe_added", { keyframe_id: "k1", asset_id: "kf-k1", captured_at_ms: ts - 200 });
    if (n === 900) events.push({ seq: ++seq, type: "hand_raised", ts: ts - 50, data: {} });
  }
  return events;
}

function info(events: WireEvent[]): ReplayInfo {
  return { lesson: { title: "x", class_id: "c1" }, started_at: T0, duration_ms: events.at(-1)!.ts! - T0, head_seq: events.length, chapters: [], audio: [], shared: false, viewer: "teacher" };
}

function picture(state: ReplayState): unknown {
  const b = state.board;
  return {
    current: b.current,
    pages: [...b.pages.values()].map((p) => [p.id, [...p.items.values()].map((i) => [i.id, i.type === "stroke" ? [...i.pts, i.done] : null])]),
    side: { poll: state.side.poll?.poll_id ?? null, results: state.side.results?.poll_id ?? null, question: state.side.results?.question ?? null },
  };
}

describe("ReplayState", () => {
  const events = lesson(3000);
  expect(events.length).toBeGreaterThan(3 * CHECKPOINT_EVERY);

  it("gives the same state at t however it got there (forward, back, far jumps)", () => {
    const seeker = new ReplayState(info(events), { role: "teacher", id: "t" });
    seeker.add(events.slice(0, 4000));
    seeker.add(events.slice(4000));
    const end = events.at(-1)!.ts! - T0;
    const moments = [end, 10, end / 2, 0, end / 3, (end * 2) / 3, 5, end, 71_234];
    for (const t of moments) {
      seeker.seek(t);
      const fresh = new ReplayState(info(events), { role: "teacher", id: "t" });
      fresh.add(events);
      fresh.seek(t);
      expect(seeker.count).toBe(fresh.count);
      expect(picture(seeker)).toEqual(picture(fresh));
    }
  });

  it("folds every event whose clock is <= t, with a clock that never runs back", () => {
    const state = new ReplayState(info(events), { role: "teacher", id: "t" });
    state.add(events);
    for (let i = 1; i < state.clock.length; i++) expect(state.clock[i]!).toBeGreaterThanOrEqual(state.clock[i - 1]!);
    const t = state.clock[2000]!;
    state.seek(t);
    expect(state.count).toBe(state.clock.filter((c) => c <= t).length);
  });

  it("shows the poll while open and its results once shown, with the question", () => {
    const state = new ReplayState(info(events), { role: "teacher", id: "t" });
    state.add(events);
    const at = (type: string): number => state.clock[events.findIndex((e) => e.type === type)]!;
    state.seek(at("poll_opened"));
    expect(state.side.poll?.question).toBe("2 + 2?");
    state.seek(at("poll_results_shown"));
    expect(state.side.poll).toBeNull();
    expect(state.side.results?.question).toBe("2 + 2?");
    state.seek(at("poll_opened") - 1);
    expect(state.side.poll).toBeNull();
    expect(state.side.results).toBeNull();
  });

  it("shows the quiz question while open and the camera keyframe from when it changed", () => {
    const state = new ReplayState(info(events), { role: "teacher", id: "t" });
    state.add(events);
    const at = (type: string): number => state.clock[events.findIndex((e) => e.type === type)]!;
    state.seek(at("quiz_question_opened"));
    expect(state.side.question?.text).toBe("7 x 8?");
    state.seek(at("quiz_question_closed"));
    expect(state.side.question).toBeNull();
    state.seek(at("camera_keyframe_added") - 1);
    expect(state.side.camera).toBeNull();
    state.seek(at("camera_keyframe_added"));
    expect(state.side.camera?.asset_id).toBe("kf-k1");
    expect(state.side.cameraT).toBe(at("camera_keyframe_added") - 200); // when it was captured
  });
});

describe("ink between batches", () => {
  it("times points as classroom/timeline.py's batch_times does", () => {
    // The same cases as tests/classroom/test_timeline_ink.py.
    expect(batchTimes([0, 0, 0.5, 20, 0, 0, 0.5, 900, 0, 0, 0.5, 5000], 1000, 1040, 3000, 33)).toEqual([1041, 1900, 3000]);
    expect(batchTimes([0, 0, 0.5, 0, 0, 0, 0.5, 0, 0, 0, 0.5, 0, 0, 0, 0.5, 0], 10, 10, 50, 0)).toEqual([20, 30, 40, 50]);
  });

  it("shows the part of a stroke's next batch drawn by the moment, never a later event", () => {
    const events: WireEvent[] = [
      { seq: 1, type: "stroke_started", ts: T0 + 10, by: { role: "teacher", id: "t" }, data: { id: "s", page: "page-1", tool: "pen", color: "#000", width: 3, pts: [1, 1, 0.5, 0, 2, 2, 0.5, 16, 3, 3, 0.5, 32] } },
      { seq: 2, type: "stroke_extended", ts: T0 + 110, by: { role: "teacher", id: "t" }, data: { id: "s", offset: 3, pts: [4, 4, 0.5, 40, 5, 5, 0.5, 60, 6, 6, 0.5, 80, 7, 7, 0.5, 100] } },
      { seq: 3, type: "stroke_ended", ts: T0 + 115, by: { role: "teacher", id: "t" }, data: { id: "s", length: 7 } },
    ];
    const state = new ReplayState({ started_at: T0, duration_ms: 115, head_seq: 3, chapters: [], audio: [], shared: false, viewer: "teacher", lesson: { title: "", class_id: "c" } } as ReplayInfo, { role: "teacher", id: "t" });
    state.add(events);
    const shown = (t: number): number => {
      state.seek(t);
      const stroke = state.board.items.get("s") as any;
      return stroke.pts.length / 4 + (state.ink.get("s")?.length ?? 0) / 4;
    };
    // Started at 10 with t up to 32: origin -22, so the batch shows at 18, 38, 58, 78.
    expect([10, 17, 18, 40, 60, 78, 109, 110, 115].map(shown)).toEqual([3, 3, 4, 5, 6, 7, 7, 7, 7]);
    state.seek(40);
    expect((state.board.items.get("s") as any).pts.length / 4).toBe(3);
    state.seek(0);
    expect(state.ink.size).toBe(0);
  });
});

describe("camera board", () => {
  it("shows the latest view kept for replays, or a keyframe captured after it (classroom/camera.py shown)", () => {
    const by = { role: "board" as const, id: "cam" };
    const events: WireEvent[] = [
      { seq: 1, type: "camera_updated", ts: T0 + 10, by, data: { snapshot_id: "v0", asset_id: "cam-v0", kept: true } },
      { seq: 2, type: "camera_updated", ts: T0 + 20, by, data: { snapshot_id: "v1", asset_id: "camera-latest", kept: false } },
      // Uploaded late: captured before v0 was seen, so v0 stays.
      { seq: 3, type: "camera_keyframe_added", ts: T0 + 30, by, data: { keyframe_id: "k1", asset_id: "kf-k1", captured_at_ms: T0 + 5 } },
      { seq: 4, type: "camera_keyframe_added", ts: T0 + 40, by, data: { keyframe_id: "k2", asset_id: "kf-k2", captured_at_ms: T0 + 35 } },
      { seq: 5, type: "camera_updated", ts: T0 + 50, by, data: { snapshot_id: "v2", asset_id: "cam-v2", kept: true } },
    ];
    const state = new ReplayState({ started_at: T0, duration_ms: 50, head_seq: 5, chapters: [], audio: [], shared: false, viewer: "teacher", lesson: { title: "", class_id: "c" } } as ReplayInfo, { role: "teacher", id: "t" });
    state.add(events);
    const shown = (t: number): string | undefined => {
      state.seek(t);
      return state.side.camera?.asset_id;
    };
    expect([0, 10, 20, 30, 40, 50, 20].map(shown)).toEqual([undefined, "cam-v0", "cam-v0", "cam-v0", "kf-k2", "cam-v2", "cam-v0"]);
  });
});
