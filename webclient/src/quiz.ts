/** Quizzes as this client sees them: the running question with its server-clock deadline. */
import { h } from "./dom";
import { fmtNumber, t } from "./i18n";
import { FEATURE_EVENTS } from "./net/protocol.gen";
import type { WireEvent } from "./net/types";
import type { ClassSession } from "./session";

export interface LeaderRow {
  rank: number;
  student_id: string;
  name: string;
  score: number;
  streak: number;
}

export interface Question {
  question: number;
  type: "single" | "multiple" | "true_false" | "numeric" | "short_text";
  text: string;
  options: string[];
  image: string | null;
  points: number;
  status: "open" | "closed" | "skipped";
  deadline_ms: number | null;
  /** The question's time limit, for the shrinking time bar (live only). */
  time_limit_ms?: number | null;
  answered: number;
  correct?: unknown;
  distribution?: number[] | null;
}

export interface Quiz {
  quiz_id: string;
  title: string;
  status: "ready" | "running" | "ended";
  mode: "timed" | "untimed";
  questions: number;
  current: Question | null;
  leaderboard: { top: LeaderRow[]; players: number } | null;
  final: { podium: LeaderRow[]; top: LeaderRow[]; players: number } | null;
  me?: { score: number; rank: number | null; players: number };
  my_answers?: { question: number; answer_id: string; answer: unknown; correct?: boolean; points?: number }[];
  /** This student's outcome of each closed question, from `quiz_result` (live only). */
  results?: Record<number, { answered: boolean; correct: boolean; points: number }>;
  definition?: unknown;
}

export const QUIZ_EVENTS: ReadonlySet<string> = new Set(FEATURE_EVENTS.quizzes);

export class QuizModel {
  quizzes = new Map<string, Quiz>();
  version = 0;

  constructor(
    private readonly role: string,
    private readonly myId: string,
  ) {}

  load(part: { quizzes?: Quiz[] } | undefined): void {
    this.quizzes.clear();
    for (const q of part?.quizzes ?? []) this.quizzes.set(q.quiz_id, { ...q, my_answers: q.my_answers ?? [] });
    this.version++;
  }

  apply(event: WireEvent): boolean {
    if (!QUIZ_EVENTS.has(event.type)) return false;
    const d = event.data as any;
    const quiz = this.quizzes.get(d.quiz_id);
    switch (event.type) {
      case "quiz_created": {
        const def = d.quiz ?? {};
        this.quizzes.set(d.quiz_id, {
          quiz_id: d.quiz_id,
          title: def.title ?? "",
          status: "ready",
          mode: "timed",
          questions: def.questions?.length ?? 0,
          current: null,
          leaderboard: null,
          final: null,
          definition: def,
          my_answers: [],
        });
        break;
      }
      case "quiz_started":
        this.quizzes.set(d.quiz_id, {
          ...(quiz ?? { current: null, leaderboard: null, final: null, my_answers: [] }),
          quiz_id: d.quiz_id,
          title: d.title,
          mode: d.mode,
          questions: d.questions,
          status: "running",
        } as Quiz);
        break;
      case "quiz_renamed":
        if (quiz) quiz.title = d.title;
        break;
      case "quiz_question_opened":
        if (!quiz) break;
        quiz.current = {
          question: d.question,
          type: d.type,
          text: d.text,
          options: d.options,
          image: d.image,
          points: d.points,
          status: "open",
          deadline_ms: d.time_limit_ms == null ? null : (event.ts ?? Date.now()) + d.time_limit_ms,
          time_limit_ms: d.time_limit_ms ?? null,
          answered: 0,
        };
        quiz.questions = d.questions;
        break;
      case "quiz_answered":
        if (!quiz) break;
        if (quiz.current && quiz.current.question === d.question) quiz.current.answered += 1;
        if (this.role === "student" && event.by?.id === this.myId) {
          quiz.my_answers = [...(quiz.my_answers ?? []), { question: d.question, answer_id: d.answer_id, answer: d.answer }];
        }
        break;
      case "quiz_question_closed":
        if (quiz?.current && quiz.current.question === d.question) {
          quiz.current.status = "closed";
          quiz.current.correct = d.correct;
          quiz.current.answered = d.answered;
          quiz.current.distribution = d.distribution;
        }
        break;
      case "quiz_question_skipped":
        if (quiz?.current && quiz.current.question === d.question) quiz.current.status = "skipped";
        break;
      case "quiz_leaderboard":
        if (!quiz) break;
        quiz.leaderboard = { top: d.top, players: d.players };
        this.updateMe(quiz, d.top, d.players);
        break;
      case "quiz_result": {
        // This student's own outcome, sent to them alone right after the close.
        if (!quiz || this.role !== "student") break;
        quiz.me = { score: d.score, rank: d.rank, players: d.players };
        const answers = quiz.my_answers ?? [];
        const own = answers.find((a) => a.question === d.question);
        if (own) {
          own.correct = d.correct;
          own.points = d.points;
        }
        quiz.my_answers = [...answers];
        quiz.results = { ...(quiz.results ?? {}), [d.question]: { answered: d.answered, correct: d.correct, points: d.points } };
        break;
      }
      case "quiz_ended":
        if (!quiz) break;
        quiz.status = "ended";
        quiz.final = { podium: d.podium, top: d.top, players: d.players };
        this.updateMe(quiz, d.top, d.players);
        break;
    }
    this.version++;
    return true;
  }

  /** The teacher renamed a student: leaderboards and podiums show the new name. */
  renamed(studentId: string, name: string): void {
    for (const quiz of this.quizzes.values()) {
      for (const row of [...(quiz.leaderboard?.top ?? []), ...(quiz.final?.top ?? []), ...(quiz.final?.podium ?? [])]) {
        if (row.student_id === studentId) row.name = name;
      }
    }
    this.version++;
  }

  private updateMe(quiz: Quiz, top: LeaderRow[], players: number): void {
    const mine = top.find((r) => r.student_id === this.myId);
    if (mine) quiz.me = { score: mine.score, rank: mine.rank, players };
    else if (quiz.me) quiz.me = { ...quiz.me, players };
  }

  /** The quiz in play (running, or the last one that ended). */
  active(): Quiz | undefined {
    const list = [...this.quizzes.values()].reverse();
    return list.find((q) => q.status === "running") ?? list.find((q) => q.status === "ended");
  }

  myAnswer(quiz: Quiz, question: number): { answer: unknown } | undefined {
    return quiz.my_answers?.find((a) => a.question === question);
  }
}

/** The question's picture (imported with the quiz, stored by the server), or null. */
export function questionPicture(session: ClassSession, q: Question): HTMLElement | null {
  if (!q.image) return null;
  const img = h("img", { class: "question-picture", src: session.pictureUrl(q.image), alt: t("quiz.picture"), "data-image": q.image, decoding: "async" }) as HTMLImageElement;
  // A quiz made through the protocol may name a picture the server never got.
  img.addEventListener("error", () => (img.hidden = true));
  return img;
}

/** The correct answer as people read it. */
export function describeCorrect(q: Question): string {
  const c = q.correct as any;
  if (q.type === "true_false") return c ? t("quiz.true") : t("quiz.false");
  if (Array.isArray(c) && (q.type === "single" || q.type === "multiple")) return c.map((i: number) => q.options[i] ?? "").join("، ");
  if (q.type === "numeric" && c && typeof c === "object") return fmtNumber(c.value);
  if (Array.isArray(c)) return c.join(" / ");
  return String(c ?? "");
}

export function optionLabels(q: Question): string[] {
  return q.type === "true_false" ? [t("quiz.true"), t("quiz.false")] : q.options;
}

export function leaderboardList(rows: LeaderRow[], myId?: string): HTMLElement {
  return h(
    "ol",
    { class: "leaderboard" },
    rows.map((r) =>
      h("li", { class: r.student_id === myId ? "me" : "", "data-student": r.student_id, "data-score": r.score }, [
        h("span", { class: "rank" }, [fmtNumber(r.rank)]),
        h("span", { class: "name" }, [r.name]),
        h("span", { class: "score" }, [t("quiz.points", { n: r.score })]),
      ]),
    ),
  );
}

export function podium(rows: LeaderRow[]): HTMLElement {
  const places = [2, 1, 3];
  return h(
    "div",
    { class: "podium", role: "list", "aria-label": t("quiz.podium") },
    places.map((place) => {
      const who = rows.filter((r) => r.rank === place);
      return h("div", { class: `step place-${place}`, role: "listitem" }, [
        h("div", { class: "who" }, who.map((r) => h("div", {}, [r.name]))),
        h("div", { class: "block" }, [h("span", {}, [t("quiz.rank", { n: place })]), who[0] ? h("small", {}, [t("quiz.points", { n: who[0].score })]) : null]),
      ]);
    }),
  );
}

/** Fill a ``[data-deadline]`` element with the seconds left on the server clock. */
export function renderCountdown(el: HTMLElement, session: ClassSession): void {
  const deadline = Number(el.dataset.deadline);
  const left = session.conn.clock.remainingMs(deadline);
  const s = Math.ceil(left / 1000);
  el.textContent = left > 0 ? t("quiz.timeLeft", { s }) : t("quiz.timeUp");
  el.dataset.left = String(s);
  const bar = el.nextElementSibling as HTMLElement | null;
  const total = Number(el.dataset.total);
  if (bar?.classList.contains("time-bar") && total > 0) bar.style.inlineSize = `${(left / total) * 100}%`;
}


/** Keep every countdown on the page ticking. */
export function tickCountdowns(session: ClassSession): void {
  setInterval(() => {
    for (const el of document.querySelectorAll<HTMLElement>("[data-deadline]")) renderCountdown(el, session);
  }, 250);
}
