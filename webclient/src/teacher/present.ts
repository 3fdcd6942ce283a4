/**
 * The big-screen view of a poll or a quiz for the smartboard: the question, the options with
 * their colours and shapes, a large timer, how many have answered, results as a large chart of
 * shares of the total, the leaderboard and the podium. Readable from the back of the room (text
 * at least 32 px at 1080p, see style.css `.present`). It follows the class live until closed.
 */
import { h, replace } from "../dom";
import { t, type Key } from "../i18n";
import { barList, choiceLabels, tallyChart, type Poll } from "../polls";
import { describeCorrect, leaderboardList, optionLabels, podium, questionPicture, renderCountdown, type Quiz } from "../quiz";
import type { ClassSession } from "../session";

/** Coloured, shaped option tiles, as the students' buttons show them (`shape-N`). */
function optionTiles(labels: string[], correct?: Set<number>): HTMLElement {
  return h(
    "ol",
    { class: "present-options" },
    labels.map((label, i) =>
      h("li", { class: `present-option shape-${i % 4}${correct ? (correct.has(i) ? " is-correct" : " is-wrong") : ""}`, "data-option": i }, [
        h("span", { class: "shape", "aria-hidden": "true" }),
        h("span", { class: "label", dir: "auto" }, [label]),
        correct?.has(i) ? h("span", { class: "tick" }, ["✓"]) : null,
      ]),
    ),
  );
}

function answeredLine(n: number, of: number | null): HTMLElement {
  return h("p", { class: "present-answered", "data-answered": n }, [of === null ? t("present.answered", { n }) : t("present.answeredOf", { n, m: of })]);
}

function pollView(session: ClassSession, poll: Poll, controls: HTMLElement | null): HTMLElement[] {
  const tally = poll.results_shown ? poll.results ?? poll.tally : poll.tally;
  const choice = poll.kind === "single" || poll.kind === "multiple" || poll.kind === "yes_no";
  const out: HTMLElement[] = [
    h("header", { class: "present-head" }, [
      h("span", { class: "present-kind" }, [t(`poll.kind.${poll.kind}` as Key)]),
      h("span", { class: `badge ${poll.status}` }, [t(`poll.status.${poll.status}` as Key)]),
    ]),
    h("h1", { class: "present-question", dir: "auto" }, [poll.question]),
  ];
  if (poll.results_shown && tally) {
    out.push(tallyChart(poll, tally));
  } else {
    if (choice) out.push(optionTiles(choiceLabels(poll)));
    if (poll.kind === "rating") out.push(h("p", { class: "present-scale" }, [t("poll.ratingEnds", { min: 1, max: poll.scale_max })]));
    out.push(answeredLine(poll.tally?.responses ?? 0, session.students.size || null));
  }
  if (controls) out.push(controls);
  return out;
}

function quizView(session: ClassSession, quiz: Quiz, controls: HTMLElement | null): HTMLElement[] {
  const out: HTMLElement[] = [h("header", { class: "present-head" }, [h("span", { class: "present-kind", dir: "auto" }, [quiz.title])])];
  if (quiz.status === "ended" && quiz.final) {
    out.push(
      h("h1", { class: "present-question" }, [t("quiz.podium")]),
      h("div", { class: "present-final" }, [podium(quiz.final.podium), leaderboardList(quiz.final.top.slice(0, 8))]),
    );
  } else if (quiz.status === "ready" || !quiz.current) {
    out.push(h("h1", { class: "present-question", dir: "auto" }, [quiz.title]), h("p", {}, [t("quiz.questionOf", { i: 0, n: quiz.questions })]));
  } else {
    const q = quiz.current;
    const head = out[0]!;
    head.append(h("span", { class: "present-step" }, [t("quiz.questionOf", { i: q.question + 1, n: quiz.questions })]));
    out.push(h("h1", { class: "present-question", dir: "auto" }, [q.text]));
    const picture = questionPicture(session, q);
    if (picture) out.push(picture);
    const labels = optionLabels(q);
    if (q.status === "open") {
      if (q.deadline_ms !== null) {
        const timer = h("p", { class: "timer present-timer", "data-deadline": q.deadline_ms, "data-total": q.time_limit_ms ?? 0 });
        head.append(timer);
        renderCountdown(timer, session);
      }
      if (labels.length) out.push(optionTiles(labels));
      out.push(answeredLine(q.answered, session.students.size || null));
    } else if (q.status === "closed") {
      const correct = new Set<number>(Array.isArray(q.correct) ? (q.correct as number[]) : q.type === "true_false" ? [q.correct ? 0 : 1] : []);
      out.push(h("p", { class: "reveal" }, [t("quiz.correct", { answer: describeCorrect(q) })]));
      const body = h("div", { class: "present-results" });
      if (q.distribution && labels.length) body.append(barList(labels, q.distribution, q.answered, correct));
      else body.append(answeredLine(q.answered, null));
      if (quiz.leaderboard) body.append(h("section", { class: "present-board" }, [h("h2", {}, [t("quiz.leaderboard")]), leaderboardList(quiz.leaderboard.top.slice(0, 5))]));
      out.push(body);
    } else {
      out.push(h("p", {}, [t("quiz.status.skipped" as Key)]));
    }
  }
  if (controls) out.push(controls);
  return out;
}

export type Presented = { poll: string } | { quiz: string };

/**
 * Open the presentation of one poll or quiz; ``controls`` builds the teacher's buttons (the same
 * as in the side panel) so the lesson can be run from the big screen.
 */
export function present(session: ClassSession, what: Presented, controls: () => HTMLElement | null): HTMLDialogElement {
  const body = h("div", { class: "present-body" });
  const dialog = h("dialog", { class: "present", "aria-label": t("present.title"), "data-present": "poll" in what ? "poll" : "quiz" }, [
    body,
    h("button", { class: "btn big present-close", type: "button", onclick: () => dialog.close() }, [t("common.close")]),
  ]);
  const render = (): void => {
    if ("poll" in what) {
      const poll = session.polls.polls.get(what.poll);
      replace(body, poll ? pollView(session, poll, controls()) : []);
    } else {
      const quiz = session.quizzes.quizzes.get(what.quiz);
      replace(body, quiz ? quizView(session, quiz, controls()) : []);
    }
  };
  const off = session.on((kind) => {
    if (kind === "polls" || kind === "quiz" || kind === "core" || kind === "snapshot") render();
  });
  dialog.addEventListener("close", () => {
    off();
    dialog.remove();
  });
  render();
  document.body.append(dialog);
  dialog.showModal();
  return dialog;
}
