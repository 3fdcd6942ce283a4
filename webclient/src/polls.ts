/** Polls as this client sees them, and the chart that shows a tally (numbers, never colour only). */
import { h } from "./dom";
import { fmtNumber, fmtPercent, t, sep } from "./i18n";
import { FEATURE_EVENTS } from "./net/protocol.gen";
import type { WireEvent } from "./net/types";

export type PollKind = "single" | "multiple" | "yes_no" | "rating" | "word_cloud" | "open_text";

export interface Tally {
  poll_id?: string;
  kind?: PollKind;
  responses: number;
  options?: string[];
  counts?: number[];
  mean?: number | null;
  words?: [string, number][];
  /** Open text: the answers the teacher chose to show the class. */
  answers?: string[];
}

export interface Poll {
  poll_id: string;
  kind: PollKind;
  question: string;
  options: string[];
  anonymous: boolean;
  scale_max: number;
  max_words: number;
  status: "draft" | "open" | "closed";
  results_shown: boolean;
  results: Tally | null;
  tally?: Tally;
  my_vote?: { vote_id: string; answer: unknown } | null;
  votes?: Record<string, { name?: string; answer: unknown }>;
  answers?: { id: number; text: string; student_id?: string }[];
}

export const POLL_EVENTS: ReadonlySet<string> = new Set(FEATURE_EVENTS.polls);

export function choiceLabels(poll: Pick<Poll, "kind" | "options" | "scale_max">): string[] {
  if (poll.kind === "yes_no") return [t("poll.yes"), t("poll.no")];
  if (poll.kind === "rating") return Array.from({ length: poll.scale_max }, (_, i) => fmtNumber(i + 1));
  return poll.options;
}

/** Count responses from the latest answer of each student. */
export function tallyOf(poll: Poll, votes: Record<string, { answer: unknown }>): Tally {
  const answers = Object.values(votes).map((v) => v.answer);
  const tally: Tally = { poll_id: poll.poll_id, kind: poll.kind, responses: answers.length };
  if (poll.kind === "single" || poll.kind === "multiple" || poll.kind === "yes_no" || poll.kind === "rating") {
    const n = poll.kind === "rating" ? poll.scale_max : poll.kind === "yes_no" ? 2 : poll.options.length;
    const counts = new Array<number>(n).fill(0);
    let sum = 0;
    for (const a of answers) {
      for (const o of Array.isArray(a) ? a : [a]) {
        if (typeof o !== "number") continue;
        const i = poll.kind === "rating" ? o - 1 : o;
        if (i >= 0 && i < n) counts[i]! += 1;
        sum += o;
      }
    }
    tally.counts = counts;
    if (poll.kind === "rating") tally.mean = answers.length ? Math.round((sum / answers.length) * 100) / 100 : null;
  } else if (poll.kind === "word_cloud") {
    const words = new Map<string, number>();
    for (const a of answers) for (const w of Array.isArray(a) ? a : []) if (typeof w === "string") words.set(w, (words.get(w) ?? 0) + 1);
    tally.words = [...words.entries()].sort((x, y) => y[1] - x[1] || x[0].localeCompare(y[0]));
  }
  return tally;
}

export class PollsModel {
  polls = new Map<string, Poll>();
  version = 0;

  constructor(private readonly role: string) {}

  load(part: { polls?: Poll[] } | undefined): void {
    this.polls.clear();
    for (const p of part?.polls ?? []) this.polls.set(p.poll_id, { ...p });
    this.version++;
  }

  /** The teacher renamed a student: their named votes show the new name. */
  renamed(studentId: string, name: string): void {
    for (const poll of this.polls.values()) {
      const vote = poll.votes?.[studentId];
      if (vote) vote.name = name;
    }
    this.version++;
  }

  apply(event: WireEvent): boolean {
    if (!POLL_EVENTS.has(event.type)) return false;
    const d = event.data as any;
    const poll = this.polls.get(d.poll_id);
    switch (event.type) {
      case "poll_created":
      case "poll_opened": {
        const status = event.type === "poll_created" ? "draft" : "open";
        const base: Poll = poll ?? { ...d, status, results_shown: false, results: null, votes: {}, answers: [] };
        base.status = status;
        if (this.role === "teacher" && !base.tally) base.tally = tallyOf(base, base.votes ?? {});
        this.polls.set(d.poll_id, base);
        break;
      }
      case "poll_closed":
        if (poll) poll.status = "closed";
        break;
      case "poll_results_shown":
        if (poll) {
          poll.results_shown = true;
          poll.results = d.tally;
        }
        break;
      case "poll_results_hidden":
        if (poll) poll.results_shown = false;
        break;
      case "poll_voted":
        if (!poll) break;
        if (this.role === "student") {
          poll.my_vote = { vote_id: d.vote_id, answer: d.answer };
        } else {
          const who = event.by?.id ?? d.vote_id;
          if (poll.votes) {
            poll.votes[who] = { name: event.by?.name, answer: d.answer };
            poll.tally = { ...tallyOf(poll, poll.votes), ...(poll.kind === "word_cloud" && poll.tally?.words && !poll.votes ? { words: poll.tally.words } : {}) };
          }
          if (poll.kind === "open_text" && typeof d.answer === "string") {
            poll.answers = [...(poll.answers ?? []).filter((a) => a.student_id !== who), { id: event.seq ?? 0, text: d.answer, student_id: who }];
          }
        }
        break;
      case "poll_tally": {
        const tally = (d.tally ?? d) as Tally;
        const target = this.polls.get(tally.poll_id ?? d.poll_id);
        if (target) target.tally = tally;
        break;
      }
    }
    this.version++;
    return true;
  }

  /** The poll students should answer or look at now: the latest open one, or shown results. */
  current(): Poll | undefined {
    const list = [...this.polls.values()];
    return list.reverse().find((p) => p.status === "open" || p.results_shown);
  }
}

/** Bars with the option, the count and the share written out; patterns tell bars apart too. */
export function tallyChart(poll: Poll, tally: Tally | null | undefined): HTMLElement {
  const box = h("div", { class: "chart" });
  if (!tally) return box;
  box.append(h("p", { class: "chart-total" }, [t("poll.responses", { n: tally.responses })]));
  if (tally.counts) {
    const labels = tally.options && poll.kind !== "yes_no" ? tally.options : choiceLabels(poll);
    box.append(barList(labels, tally.counts, tally.responses));
    if (tally.mean !== undefined && tally.mean !== null) box.append(h("p", {}, [t("poll.mean", { n: tally.mean })]));
    if (poll.kind === "rating") box.append(h("p", { class: "hint rating-ends" }, [t("poll.ratingEnds", { min: 1, max: poll.scale_max })]));
  } else if (tally.answers) {
    box.append(h("ul", { class: "shown-answers", "aria-label": t("poll.results") }, tally.answers.map((a) => h("li", { dir: "auto" }, [a]))));
  } else if (tally.words) {
    const max = Math.max(1, ...tally.words.map((w) => w[1]));
    box.append(
      h(
        "ul",
        { class: "cloud", "aria-label": t("poll.results") },
        tally.words.map(([word, count]) => {
          const li = h("li", {}, [word, h("small", {}, [` ${fmtNumber(count)}`])]);
          li.style.fontSize = `${1 + (count / max) * 1.6}em`;
          return li;
        }),
      ),
    );
  }
  return box;
}

/**
 * One bar per option, its length the option's share of everyone who answered (not of the
 * largest bar), with the count and the percentage written out; ``correct`` marks right answers.
 */
export function barList(labels: string[], counts: number[], responses: number, correct?: Set<number>): HTMLElement {
  const total = Math.max(1, responses);
  const list = h("ul", { class: "bars", "aria-label": t("poll.chart") });
  counts.forEach((count, i) => {
    const label = labels[i] ?? String(i + 1);
    const share = Math.min(1, count / total);
    const bar = h("span", { class: `bar pattern-${i % 4}`, "aria-hidden": "true" });
    bar.style.inlineSize = `${share * 100}%`;
    list.append(
      h("li", { class: `bar-row shape-${i % 4}${correct?.has(i) ? " is-correct" : ""}`, "data-count": count, "data-share": share.toFixed(4) }, [
        h("span", { class: "bar-label" }, [h("span", { class: "shape", "aria-hidden": "true" }), h("span", { dir: "auto" }, [label]), correct?.has(i) ? " ✓" : ""]),
        h("span", { class: "bar-track" }, [bar]),
        h("span", { class: "bar-value" }, [`${fmtNumber(count)}${sep()}${fmtPercent(count / total)}`]),
      ]),
    );
  });
  return list;
}
