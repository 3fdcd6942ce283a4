/** Import a quiz file, run it (timer, reveal, leaderboard), finish with the podium. */
import { ApiError, type TeacherSession } from "../api";
import { confirmDialog } from "../common";
import { h, toast } from "../dom";
import { fmtNumber, t, type Key, errorText } from "../i18n";
import { newId } from "../net/types";
import { describeCorrect, leaderboardList, optionLabels, podium, questionPicture, type Quiz } from "../quiz";
import type { ClassSession } from "../session";
import type { ClassInfo } from "./console";
import { present } from "./present";
import { downloadButton } from "./reports";

const QUIZ_FILE = /\.(csv|tsv|txt|json|ya?ml)$/i;

/**
 * Send the chosen files to the server's import, which creates the quiz: a zip as it is, or
 * the quiz file with the pictures chosen alongside it as a form. The server checks every
 * picture a question names (PICTURE_MISSING names one not chosen) before anything is kept.
 */
function importRequest(files: File[], me: TeacherSession): RequestInit | null {
  const zip = files.find((f) => /\.zip$/i.test(f.name));
  const quizFiles = files.filter((f) => QUIZ_FILE.test(f.name));
  const headers: Record<string, string> = { Authorization: `Bearer ${me.token}`, "Idempotency-Key": newId("import") };
  if (zip && files.length === 1) {
    return { method: "POST", headers: { ...headers, "Content-Type": "application/zip" }, body: zip };
  }
  if (quizFiles.length !== 1 || zip) return null;
  const form = new FormData();
  form.append("quiz", quizFiles[0]!, quizFiles[0]!.name);
  for (const f of files) if (f !== quizFiles[0]) form.append("picture", f, f.name);
  return { method: "POST", headers, body: form };
}

async function importQuiz(request: RequestInit, cls: ClassInfo): Promise<{ title: string; questions: number }> {
  const resp = await fetch(`/api/classes/${encodeURIComponent(cls.class_id)}/quizzes`, request);
  const body = await resp.json().catch(() => ({}));
  if (!resp.ok || body.ok === false) throw new ApiError(resp.status, body.error ?? { code: "HTTP", message: resp.statusText });
  return { title: body.title, questions: body.questions };
}

export function quizPanel(session: ClassSession, me: TeacherSession, cls: ClassInfo): HTMLElement {
  const file = h("input", { type: "file", multiple: true, accept: ".csv,.tsv,.txt,.json,.yaml,.yml,.zip,.png,.jpg,.jpeg,.webp", id: "quiz-file" });
  file.addEventListener("change", async () => {
    const files = [...(file.files ?? [])];
    if (!files.length) return;
    const request = importRequest(files, me);
    if (!request) {
      toast(t("quiz.chooseOne"), "error");
      file.value = "";
      return;
    }
    toast(t("quiz.importing"));
    try {
      const made = await importQuiz(request, cls);
      toast(t("quiz.imported", { title: made.title, n: made.questions }));
    } catch (err) {
      toast(errorText(err), "error");
    }
    file.value = "";
  });
  const quizzes = [...session.quizzes.quizzes.values()].reverse();
  return h("div", { class: "quizzes" }, [
    h("div", { class: "field" }, [h("label", { for: "quiz-file", class: "btn primary file-btn" }, [t("quiz.import")]), file, h("p", { class: "muted hint" }, [t("quiz.importHint")])]),
    quizzes.length === 0 ? h("p", { class: "muted" }, [t("quiz.none")]) : null,
    ...quizzes.map((q) => quizItem(session, q, me, cls)),
  ]);
}

function sender(session: ClassSession, quiz: Quiz) {
  return (event: string, extra: Record<string, unknown> = {}) => async (): Promise<void> => {
    const ack = await session.conn.send(event, { quiz_id: quiz.quiz_id, ...extra });
    if (!ack.ok) toast(errorText(ack.error), "error");
  };
}

/**
 * Next / show answer / skip / end for the running question (the side panel and the big screen).
 * After the last question "Next" becomes "Show the winners"; "End quiz" asks first.
 */
export function quizButtons(session: ClassSession, quiz: Quiz): HTMLElement {
  const send = sender(session, quiz);
  const q = quiz.current;
  if (quiz.status !== "running" || !q) return h("div", { class: "row" });
  const last = q.question + 1 >= quiz.questions;
  const endQuiz = async (): Promise<void> => {
    if (await confirmDialog(t("quiz.endConfirm"))) await send("quiz_end")();
  };
  return h("div", { class: "row quiz-controls" }, [
    h("button", { class: "btn primary big", type: "button", "data-action": "next", "data-last": String(last && q.status !== "open"), onclick: send("quiz_next") }, [
      q.status === "open" ? t("quiz.reveal") : last ? t("quiz.showPodium") : t("quiz.next"),
    ]),
    q.status === "open" ? h("button", { class: "btn", type: "button", "data-action": "skip", onclick: send("quiz_skip") }, [t("quiz.skip")]) : null,
    h("button", { class: "btn danger", type: "button", "data-action": "end", onclick: () => void endQuiz() }, [t("quiz.end")]),
  ]);
}

// A title being typed, per quiz: the panel is drawn again on every quiz event (each answer),
// and the teacher's typing must survive that.
const titleDrafts = new WeakMap<ClassSession, Map<string, { text: string; focused: boolean }>>();

/** The quiz's title as a text field the teacher may change (the file's title is a default). */
function titleField(session: ClassSession, quiz: Quiz): HTMLElement {
  const id = `quiz-title-${quiz.quiz_id}`;
  let drafts = titleDrafts.get(session);
  if (!drafts) titleDrafts.set(session, (drafts = new Map()));
  const draft = drafts.get(quiz.quiz_id);
  const input = h("input", { id, type: "text", class: "quiz-title", dir: "auto", maxlength: 200, value: draft?.text ?? quiz.title, "data-action": "quiz-title" }) as HTMLInputElement;
  input.addEventListener("input", () => drafts.set(quiz.quiz_id, { text: input.value, focused: true }));
  input.addEventListener("blur", () => {
    const kept = drafts.get(quiz.quiz_id);
    if (kept) kept.focused = false;
  });
  if (draft?.focused) queueMicrotask(() => input.isConnected && input.focus());
  const save = async (): Promise<void> => {
    drafts.delete(quiz.quiz_id);
    if (input.value.trim() === quiz.title) return;
    const ack = await session.conn.send("quiz_rename", { quiz_id: quiz.quiz_id, title: input.value });
    if (!ack.ok) {
      toast(errorText(ack.error), "error");
      input.value = quiz.title;
      return;
    }
    toast(t("quiz.titleSaved", { title: input.value.trim() }));
  };
  input.addEventListener("keydown", (e) => {
    if (e.key === "Enter") void save();
  });
  return h("div", { class: "field quiz-title-field" }, [
    h("label", { for: id }, [t("quiz.titleLabel")]),
    h("div", { class: "row" }, [input, h("button", { class: "btn", type: "button", "data-action": "save-title", onclick: () => void save() }, [t("quiz.saveTitle")])]),
  ]);
}

function quizItem(session: ClassSession, quiz: Quiz, me: TeacherSession, cls: ClassInfo): HTMLElement {
  const send = sender(session, quiz);
  const presentButton = h("button", { class: "btn", type: "button", "data-action": "present", onclick: () => present(session, { quiz: quiz.quiz_id }, () => {
    const now = session.quizzes.quizzes.get(quiz.quiz_id);
    return now ? quizButtons(session, now) : null;
  }) }, [t("present.open")]);
  const card = h("article", { class: "card quiz-item", "data-quiz": quiz.quiz_id, "data-status": quiz.status }, [
    h("header", { class: "row" }, [h("h3", { dir: "auto" }, [quiz.title]), h("span", { class: "badge" }, [t(`quiz.status.${quiz.status}` as Key)]), presentButton]),
    titleField(session, quiz),
  ]);
  if (quiz.status === "ready") {
    const mode = h("select", { "aria-label": t("quiz.timed") }, [h("option", { value: "timed" }, [t("quiz.timed")]), h("option", { value: "untimed" }, [t("quiz.untimed")])]);
    card.append(h("p", {}, [t("quiz.questionOf", { i: 0, n: quiz.questions })]), h("div", { class: "row" }, [mode, h("button", { class: "btn primary big", type: "button", "data-action": "start", onclick: () => void send("quiz_start", { mode: mode.value })() }, [t("quiz.start")])]));
    return card;
  }
  const q = quiz.current;
  if (quiz.status === "running" && q) {
    card.append(h("p", { class: "muted" }, [t("quiz.questionOf", { i: q.question + 1, n: quiz.questions })]), h("h2", { dir: "auto", class: "question" }, [q.text]));
    const picture = questionPicture(session, q);
    if (picture) card.append(picture);
    if (q.status === "open" && q.deadline_ms !== null) {
      card.append(h("p", { class: "timer", "data-deadline": q.deadline_ms, "data-total": 0 }));
    }
    card.append(h("p", { class: "answered", "data-answered": q.answered }, [t("quiz.answered", { n: q.answered })]));
    if (q.status === "closed") {
      card.append(h("p", { class: "reveal" }, [t("quiz.correct", { answer: describeCorrect(q) })]));
      if (q.distribution) {
        const labels = optionLabels(q);
        card.append(h("ul", { class: "dist" }, q.distribution.map((n, i) => h("li", {}, [`${labels[i] ?? ""}: ${fmtNumber(n)}`]))));
      }
    }
    card.append(quizButtons(session, quiz));
    if (q.status !== "open" && quiz.leaderboard) card.append(h("h3", {}, [t("quiz.leaderboard")]), leaderboardList(quiz.leaderboard.top));
  }
  if (quiz.status === "ended" && quiz.final) {
    card.append(h("h2", {}, [t("quiz.podium")]), podium(quiz.final.podium), h("h3", {}, [t("quiz.leaderboard")]), leaderboardList(quiz.final.top));
    const base = `/api/classes/${encodeURIComponent(cls.class_id)}/reports/quizzes/${encodeURIComponent(quiz.quiz_id)}`;
    card.append(h("div", { class: "reports" }, [
      downloadButton(t("reports.quiz", { title: quiz.title }), `${base}/results.csv`, "quiz-results.csv", me),
      downloadButton(t("reports.items", { title: quiz.title }), `${base}/items.csv`, "quiz-items.csv", me),
    ]));
  }
  return card;
}
