/** Practice classes (issue 16): the classes screen's "Practice class" button, the console's
 * small panel to change the simulated students while they run, and the debrief at the end. */
import { api, type TeacherSession } from "../api";
import { field } from "../common";
import { h, replace, toast } from "../dom";
import { errorText, getLang, t } from "../i18n";

export const PROFILES = ["calm", "busy", "weak-link"] as const;
export type Profile = (typeof PROFILES)[number];

function countInput(value: number): HTMLInputElement {
  return h("input", { name: "students", type: "number", min: "1", max: "60", step: "1", value: String(value), required: true, inputmode: "numeric" }) as HTMLInputElement;
}

function profileSelect(value: Profile): HTMLSelectElement {
  const select = h(
    "select",
    { name: "profile" },
    PROFILES.map((p) => h("option", { value: p, ...(p === value ? { selected: true } : {}) }, [t(`practice.profile.${p}` as "practice.profile.calm")])),
  ) as HTMLSelectElement;
  return select;
}

function readCount(input: HTMLInputElement): number | null {
  const n = Number(input.value);
  return Number.isInteger(n) && n >= 1 && n <= 60 ? n : null;
}

/** The classes screen's button: a small dialog (how many, how they behave), then the class. */
export function practiceButton(me: TeacherSession, open: (created: any) => void): HTMLElement {
  return h("button", { class: "btn big", type: "button", "data-action": "practice", onclick: () => {
    const count = countInput(25);
    const profile = profileSelect("calm");
    const message = h("p", { class: "error", role: "alert" });
    const form = h("form", { class: "practice-form" }, [
      h("h2", {}, [t("practice.title")]),
      h("p", {}, [t("practice.intro")]),
      field(t("practice.students"), count, t("practice.studentsHint")),
      field(t("practice.behaviour"), profile),
      message,
      h("div", { class: "row" }, [
        h("button", { class: "btn primary big", type: "submit" }, [t("practice.start")]),
        h("button", { class: "btn", type: "button", onclick: () => dialog.close() }, [t("common.cancel")]),
      ]),
    ]);
    const dialog = h("dialog", { class: "practice-dialog", "aria-label": t("practice.title") }, [form]);
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      const students = readCount(count);
      if (students === null) return void (message.textContent = t("practice.countRange"));
      try {
        const created = await api("POST", "/api/practice", { title: t("practice.classTitle"), students, profile: profile.value }, me.token);
        dialog.close();
        open(created);
      } catch (err) {
        message.textContent = errorText(err);
      }
    });
    dialog.addEventListener("close", () => dialog.remove());
    document.body.append(dialog);
    dialog.showModal();
    count.focus();
  } }, [t("practice.button")]);
}

/** The console's practice strip: the students' count and behaviour, changed while they run. */
export function practicePanel(classId: string, me: TeacherSession): HTMLElement {
  const count = countInput(25);
  const profile = profileSelect("calm");
  const state = h("span", { class: "muted", "data-practice-state": "" });
  const el = h("form", { class: "practice-panel row", "data-practice": "" }, [
    h("span", { class: "badge practice" }, [t("practice.badge")]),
    field(t("practice.students"), count),
    field(t("practice.behaviour"), profile),
    h("button", { class: "btn", type: "submit" }, [t("practice.apply")]),
    // For training: what a tablet losing the Wi-Fi looks like (it comes back as itself).
    h("button", { class: "btn", type: "button", "data-action": "practice-drop", onclick: async () => {
      const n = readCount(count) ?? 1;
      try {
        show(await api("POST", `/api/classes/${encodeURIComponent(classId)}/practice`, { drop: 1 + Math.floor(Math.random() * n), away_s: 20 }, me.token));
      } catch (err) {
        toast(errorText(err), "error");
      }
    } }, [t("practice.drop")]),
    state,
  ]);
  const show = (s: any): void => {
    count.value = String(s.students || count.value);
    if (PROFILES.includes(s.profile)) profile.value = s.profile;
    state.textContent = s.running ? t("practice.running", { n: s.students }) : t("practice.stopped");
    state.dataset.practiceState = s.running ? "running" : "stopped";
  };
  el.addEventListener("submit", async (e) => {
    e.preventDefault();
    const students = readCount(count);
    if (students === null) return void toast(t("practice.countRange"), "error");
    try {
      show(await api("POST", `/api/classes/${encodeURIComponent(classId)}/practice`, { students, profile: profile.value }, me.token));
    } catch (err) {
      toast(errorText(err), "error");
    }
  });
  void api("GET", `/api/classes/${encodeURIComponent(classId)}/practice`, undefined, me.token).then(show, () => undefined);
  return el;
}

/** The debrief: a few plain sentences about the lesson just taught, in the console's language. */
export function debriefPanel(classId: string, me: TeacherSession): HTMLElement {
  const list = h("ul", { class: "debrief-lines" }, [h("li", {}, [t("common.loading")])]);
  const el = h("section", { class: "debrief card", "data-debrief": "", "aria-label": t("practice.debrief") }, [h("h2", {}, [t("practice.debrief")]), list]);
  void api("GET", `/api/classes/${encodeURIComponent(classId)}/debrief`, undefined, me.token).then(
    (body) => {
      const lines: string[] = getLang() === "ur" ? body.ur : body.en;
      replace(list, lines.map((line) => h("li", { dir: "auto" }, [line])));
      el.dataset.debrief = "ready";
    },
    (err) => replace(list, [h("li", { class: "error" }, [errorText(err)])]),
  );
  return el;
}
