/** Create and run polls; the live chart of answers. */
import type { TeacherSession } from "../api";
import { field } from "../common";
import { h, toast } from "../dom";
import { t, type Key, errorText } from "../i18n";
import { MAX_WORDS_PER_VOTE } from "../net/protocol.gen";
import { tallyChart, type Poll, type PollKind } from "../polls";
import type { ClassSession } from "../session";
import type { ClassInfo } from "./console";
import { present } from "./present";
import { downloadButton } from "./reports";

const KINDS: PollKind[] = ["single", "multiple", "yes_no", "rating", "word_cloud", "open_text"];

export function pollsPanel(session: ClassSession, me: TeacherSession, cls: ClassInfo): HTMLElement {
  const kind = h("select", { name: "kind" }, KINDS.map((k) => h("option", { value: k }, [t(`poll.kind.${k}` as Key)])));
  const question = h("input", { name: "question", required: true, maxlength: "500", dir: "auto" });
  const options = h("textarea", { name: "options", rows: "4", dir: "auto" });
  const anonymous = h("input", { type: "checkbox", name: "anonymous" });
  const optionsField = field(t("poll.options"), options);
  const maxWords = h("input", { name: "max_words", type: "number", min: "1", max: String(MAX_WORDS_PER_VOTE), value: "1", inputmode: "numeric" });
  const maxWordsField = field(t("poll.maxWords"), maxWords);
  const syncKind = (): void => {
    optionsField.hidden = !(kind.value === "single" || kind.value === "multiple");
    maxWordsField.hidden = kind.value !== "word_cloud";
  };
  kind.addEventListener("change", syncKind);
  syncKind();
  const form = h("form", { class: "poll-form" }, [
    h("h2", {}, [t("poll.new")]),
    field(t("poll.kind"), kind),
    field(t("poll.question"), question),
    optionsField,
    maxWordsField,
    h("label", { class: "check" }, [anonymous, h("span", {}, [t("poll.anonymous")])]),
    h("button", { class: "btn primary", type: "submit" }, [t("poll.create")]),
  ]);
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const k = kind.value as PollKind;
    const payload: Record<string, unknown> = { kind: k, question: question.value, anonymous: anonymous.checked };
    if (k === "word_cloud") payload.max_words = Number(maxWords.value) || 1;
    if (k === "single" || k === "multiple") payload.options = options.value.split("\n").map((o) => o.trim()).filter(Boolean);
    const ack = await session.conn.send("poll_create", payload);
    if (!ack.ok) toast(errorText(ack.error), "error");
    else form.reset();
  });
  const polls = [...session.polls.polls.values()].reverse();
  return h("div", { class: "polls" }, [
    form,
    polls.length === 0 ? h("p", { class: "muted" }, [t("poll.none")]) : h("div", { class: "poll-list" }, polls.map((p) => pollItem(session, p))),
    polls.length ? h("div", { class: "reports" }, [h("h2", {}, [t("console.reports")]), downloadButton(t("reports.polls"), `/api/classes/${encodeURIComponent(cls.class_id)}/reports/polls.csv`, "polls.csv", me)]) : null,
  ]);
}

/** The teacher's buttons for a poll in its current state (the side panel and the big screen). */
export function pollButtons(session: ClassSession, poll: Poll): HTMLElement[] {
  const act = (event: string) => async (): Promise<void> => {
    const ack = await session.conn.send(event, { poll_id: poll.poll_id });
    if (!ack.ok) toast(errorText(ack.error), "error");
  };
  const buttons: HTMLElement[] = [];
  if (poll.status === "draft") buttons.push(h("button", { class: "btn primary", type: "button", "data-action": "open", onclick: act("poll_open") }, [t("poll.open")]));
  if (poll.status === "open") buttons.push(h("button", { class: "btn", type: "button", "data-action": "close", onclick: act("poll_close") }, [t("poll.close")]));
  // Open text: only the answers the teacher ticked are shown to the class.
  const show = async (): Promise<void> => {
    const picked = [...document.querySelectorAll<HTMLInputElement>(`.poll-item[data-poll="${CSS.escape(poll.poll_id)}"] input[name=show-answer]:checked`)].map((b) => Number(b.value));
    const ack = await session.conn.send("poll_show_results", { poll_id: poll.poll_id, ...(poll.kind === "open_text" ? { answer_ids: picked } : {}) });
    if (!ack.ok) toast(errorText(ack.error), "error");
  };
  if (poll.status === "closed" && !poll.results_shown) buttons.push(h("button", { class: "btn primary", type: "button", "data-action": "show", onclick: () => void show() }, [t("poll.show")]));
  if (poll.results_shown) buttons.push(h("button", { class: "btn", type: "button", "data-action": "hide", onclick: act("poll_hide_results") }, [t("poll.hide")]));
  return buttons;
}

function pollItem(session: ClassSession, poll: Poll): HTMLElement {
  const buttons = pollButtons(session, poll);
  buttons.push(
    h("button", { class: "btn", type: "button", "data-action": "present", onclick: () => present(session, { poll: poll.poll_id }, () => {
      const now = session.polls.polls.get(poll.poll_id);
      return now ? h("div", { class: "row present-controls" }, pollButtons(session, now)) : null;
    }) }, [t("present.open")]),
  );
  const pick = poll.status === "closed" && !poll.results_shown;
  const answers =
    poll.kind === "open_text" && poll.answers?.length
      ? h("div", {}, [
          pick ? h("p", { class: "hint" }, [t("poll.pickAnswers")]) : null,
          h("ul", { class: pick ? "answers pick" : "answers" }, poll.answers.map((a) =>
            h("li", { dir: "auto" }, [pick ? h("label", { class: "check" }, [h("input", { type: "checkbox", name: "show-answer", value: a.id }), h("span", {}, [a.text])]) : a.text]),
          )),
        ])
      : null;
  return h("article", { class: "card poll-item", "data-poll": poll.poll_id, "data-status": poll.status }, [
    h("header", { class: "row" }, [h("h3", { dir: "auto" }, [poll.question]), h("span", { class: `badge ${poll.status}` }, [t(`poll.status.${poll.status}` as Key)])]),
    poll.status === "draft" ? null : tallyChart(poll, poll.tally ?? poll.results),
    answers,
    h("div", { class: "row" }, buttons),
  ]);
}
