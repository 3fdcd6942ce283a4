/** Recorded lessons: the teacher's list (/lessons) and the after-class details form. */
import { ApiError, api, sessions, type TeacherSession } from "../api";
import { field, langButton } from "../common";
import { h, replace, toast } from "../dom";
import { errorText, fmtDate, t, type Key } from "../i18n";
import { exportPanel } from "./exports";

/** Between the parts of a line: a middle dot reads as an Urdu zero ("۵ · ۲" as "۵۰۲"). */
const SEP = (): string => t("lessons.and");

export interface LessonChapters {
  pages: number;
  polls: number;
  quiz_questions: number;
  keyframes: number;
}

export interface Lesson {
  class_id: string;
  title: string;
  subject: string;
  grade: string;
  languages: string[];
  teacher_name: string;
  school: string;
  description: string;
  trim_start_ms: number | null;
  trim_end_ms: number | null;
  details_set: boolean;
  created_at: number;
  started_at: number | null;
  ended: boolean;
  duration_ms: number;
  chapters: LessonChapters;
  has_audio: boolean;
  shared?: boolean;
  published: boolean;
  published_at: number | null;
  replay_url: string;
}

export { fmtClock, GRADES, gradeLabel, LANGUAGES, parseClock, subjectLabel, SUBJECTS } from "../lessonfacts";
import { fmtClock, GRADES, gradeLabel, LANGUAGES, parseClock, subjectLabel, SUBJECTS } from "../lessonfacts";

const CLASS_PAGE = 20;

/** /lessons (the list) and /lessons/{class_id} (the lesson; its replay comes here). */
export function startLessons(root: HTMLElement, classId: string | null): void {
  const me = sessions.teacher();
  if (!me) {
    location.assign("/teacher");
    return;
  }
  if (classId) void lessonPage(root, me, classId);
  else void lessonList(root, me);
}

function shell(root: HTMLElement, rerender: () => void, main: HTMLElement[]): void {
  replace(root, [
    h("header", { class: "topbar" }, [
      h("div", { class: "brand" }, [t("app.name")]),
      h("a", { class: "btn", href: "/teacher" }, [`‹ ${t("console.classes")}`]),
      h("div", { class: "spacer" }),
      langButton(rerender),
    ]),
    h("main", { class: "center" }, main),
  ]);
}

function signedOut(err: unknown): boolean {
  if (err instanceof ApiError && (err.status === 401 || err.status === 403)) {
    sessions.setTeacher(null);
    location.assign("/teacher");
    return true;
  }
  return false;
}

function meta(lesson: Lesson): string {
  const parts = [
    lesson.subject ? subjectLabel(lesson.subject) : "",
    lesson.grade ? gradeLabel(lesson.grade) : "",
    lesson.languages.map((l) => t(`lang.${l}` as Key)).join(t("lessons.and")),
    lesson.teacher_name,
    lesson.school,
  ];
  return parts.filter(Boolean).join(SEP());
}

function chapters(lesson: Lesson): string {
  const c = lesson.chapters;
  return [
    t("lessons.pages", { n: c.pages }),
    t("lessons.polls", { n: c.polls }),
    t("lessons.questions", { n: c.quiz_questions }),
    t("lessons.keyframes", { n: c.keyframes }),
    lesson.has_audio ? t("lessons.audio") : t("lessons.noAudio"),
  ].join(SEP());
}

function lessonItem(lesson: Lesson): HTMLElement {
  return h("li", { class: "lesson", "data-class-id": lesson.class_id }, [
    h("div", { class: "lesson-text" }, [
      h("strong", { class: "lesson-title", dir: "auto" }, [lesson.title]),
      h("div", { class: "lesson-meta", dir: "auto" }, [meta(lesson)]),
      h("small", { class: "muted" }, [
        `${fmtDate(lesson.started_at ?? lesson.created_at)}${SEP()}${t("lessons.duration", { time: fmtClock(lesson.duration_ms) })}`,
        lesson.ended ? "" : `${SEP()}${t("lessons.live")}`,
      ]),
      h("small", { class: "lesson-chapters muted" }, [chapters(lesson)]),
    ]),
    h("a", { class: "btn primary big", href: lesson.replay_url }, [t("lessons.replay")]),
  ]);
}

async function lessonList(root: HTMLElement, me: TeacherSession): Promise<void> {
  let lessons: Lesson[] = [];
  let next: string | null = null;
  let failed = false;
  const loadPage = async (): Promise<void> => {
    const query = `?limit=${CLASS_PAGE}` + (next ? `&before=${encodeURIComponent(next)}` : "");
    try {
      const page = await api("GET", `/api/lessons${query}`, undefined, me.token);
      lessons = lessons.concat(page.lessons as Lesson[]);
      next = typeof page.next === "string" ? page.next : null;
    } catch (err) {
      if (signedOut(err)) return void (failed = true);
      toast(errorText(err), "error");
    }
  };
  await loadPage();
  if (failed) return;
  const render = (): void => {
    const list = lessons.length
      ? h("ul", { class: "class-list lesson-list" }, lessons.map(lessonItem))
      : h("p", { class: "muted" }, [t("lessons.none")]);
    const more = next
      ? h("button", { class: "btn big", type: "button", onclick: async () => { await loadPage(); render(); } }, [t("lessons.more")])
      : null;
    shell(root, render, [h("section", { class: "card wide" }, [h("h1", {}, [t("lessons.title")]), list, more])]);
  };
  render();
}

/** One lesson's page: its details now; the replay player takes this place. */
async function lessonPage(root: HTMLElement, me: TeacherSession, classId: string): Promise<void> {
  let lesson: Lesson;
  try {
    lesson = (await api("GET", `/api/classes/${encodeURIComponent(classId)}/lesson`, undefined, me.token)).lesson;
  } catch (err) {
    if (signedOut(err)) return;
    return void shell(root, () => void lessonPage(root, me, classId), [h("p", { class: "error" }, [t("lessons.notFound")])]);
  }
  const render = (): void =>
    shell(root, render, [
      h("section", { class: "card wide" }, [
        h("h1", { dir: "auto" }, [lesson.title]),
        h("p", { class: "lesson-meta", dir: "auto" }, [meta(lesson)]),
        lesson.description ? h("p", { class: "lesson-description", dir: "auto" }, [lesson.description]) : null,
        h("p", { class: "muted" }, [`${fmtDate(lesson.started_at ?? lesson.created_at)}${SEP()}${t("lessons.duration", { time: fmtClock(lesson.duration_ms) })}`]),
        h("p", { class: "muted" }, [chapters(lesson)]),
        h("div", { class: "replay-root" }),
        h("a", { class: "btn big", href: "/lessons" }, [`‹ ${t("lessons.title")}`]),
      ]),
      exportPanel(classId, me),
    ]);
  render();
  const slot = root.querySelector<HTMLElement>(".replay-root");
  if (!slot) return;
  const { startReplay } = await import("../replay/page");
  await startReplay(slot, {
    classId,
    token: me.token,
    me: { role: "teacher", id: me.teacher },
    extra: (info) => h("div", { class: "replay-switches" }, [shareSwitch(classId, me, info.shared), publishSwitch(classId, me, info.lesson as unknown as Lesson)]),
  });
}

/** The library switch: an ended lesson goes into the school's /library (or out of it). */
function publishSwitch(classId: string, me: TeacherSession, lesson: Lesson): HTMLElement {
  const box = h("input", { type: "checkbox", name: "published", checked: lesson.published, disabled: !lesson.ended }) as HTMLInputElement;
  const note = h("span", { class: "muted" }, [lesson.published ? t("replay.published") : lesson.ended ? "" : t("replay.publishEnded")]);
  box.addEventListener("change", async () => {
    box.disabled = true;
    try {
      const key = `publish-${Date.now().toString(36)}`;
      const answer = await api("POST", `/api/classes/${encodeURIComponent(classId)}/publish`, { published: box.checked }, me.token, { "Idempotency-Key": key });
      box.checked = answer.published;
      note.textContent = answer.published ? t("replay.published") : "";
    } catch (err) {
      box.checked = !box.checked;
      const code = err instanceof ApiError ? err.body.code : "";
      toast(code === "CONFLICT" ? t("replay.publishEnded") : detailsError(err, {}), "error");
    } finally {
      box.disabled = false;
    }
  });
  return h("label", { class: "replay-publish big-touch" }, [box, " ", t("replay.publish"), " ", note]);
}

function shareSwitch(classId: string, me: TeacherSession, shared: boolean): HTMLElement {
  const box = h("input", { type: "checkbox", name: "shared", checked: shared }) as HTMLInputElement;
  const note = h("span", { class: "muted" }, [shared ? t("replay.shared") : ""]);
  box.addEventListener("change", async () => {
    box.disabled = true;
    try {
      const key = `share-${Date.now().toString(36)}`;
      const answer = await api("POST", `/api/classes/${encodeURIComponent(classId)}/share`, { shared: box.checked }, me.token, { "Idempotency-Key": key });
      box.checked = answer.shared;
      note.textContent = answer.shared ? t("replay.shared") : "";
    } catch (err) {
      box.checked = !box.checked;
      toast(detailsError(err, {}), "error");
    } finally {
      box.disabled = false;
    }
  });
  return h("label", { class: "replay-share big-touch" }, [box, " ", t("replay.share"), " ", note]);
}

function detailsError(err: unknown, labels: Record<string, string>): string {
  if (!(err instanceof ApiError)) return errorText(err);
  const name = (err.body.field ?? "").split(".")[0] ?? "";
  const label = labels[name] ?? name;
  if (err.body.code === "OUT_OF_RANGE") return t("details.errRange", { field: label });
  if (err.body.code === "INVALID_PAYLOAD" && label) return t("details.errField", { field: label });
  return errorText(err);
}

/** The after-class form: the lesson's details and trim points, saved over HTTP. */
export async function detailsDialog(classId: string, me: TeacherSession, onSaved: (lesson: Lesson) => void = () => undefined): Promise<void> {
  let lesson: Lesson;
  try {
    lesson = (await api("GET", `/api/classes/${encodeURIComponent(classId)}/lesson`, undefined, me.token)).lesson;
  } catch (err) {
    return void toast(errorText(err), "error");
  }
  const known = (value: string, list: readonly string[]): string => (value === "" || list.includes(value) ? value : "other");
  const select = (name: string, options: [string, string][], value: string): HTMLSelectElement =>
    h("select", { name }, options.map(([v, label]) => h("option", { value: v, ...(v === value ? { selected: true } : {}) }, [label])));

  const title = h("input", { name: "title", maxlength: "80", dir: "auto", value: lesson.title });
  const subject = select("subject", [["", "—"], ...SUBJECTS.map((s): [string, string] => [s, t(`subject.${s}` as Key)]), ["other", t("details.other")]], known(lesson.subject, SUBJECTS));
  const subjectOther = h("input", { name: "subject_other", maxlength: "40", dir: "auto", "aria-label": t("details.subjectOther"), value: known(lesson.subject, SUBJECTS) === "other" ? lesson.subject : "" });
  const grade = select("grade", [["", "—"], ...GRADES.map((g): [string, string] => [g, gradeLabel(g)]), ["other", t("details.other")]], known(lesson.grade, GRADES));
  const gradeOther = h("input", { name: "grade_other", maxlength: "20", dir: "auto", "aria-label": t("details.gradeOther"), value: known(lesson.grade, GRADES) === "other" ? lesson.grade : "" });
  const showOther = (): void => {
    subjectOther.hidden = subject.value !== "other";
    gradeOther.hidden = grade.value !== "other";
  };
  subject.addEventListener("change", showOther);
  grade.addEventListener("change", showOther);
  showOther();
  const languages = LANGUAGES.map((l) => h("input", { type: "checkbox", name: "languages", value: l, checked: lesson.languages.includes(l) }));
  const teacherName = h("input", { name: "teacher_name", maxlength: "40", dir: "auto", value: lesson.teacher_name });
  const description = h("textarea", { name: "description", maxlength: "500", rows: "3", dir: "auto" });
  description.value = lesson.description;
  const clock = (ms: number | null): string => (ms === null ? "" : fmtClock(ms));
  const trimStart = h("input", { name: "trim_start", inputmode: "numeric", dir: "ltr", placeholder: fmtClock(0), value: clock(lesson.trim_start_ms) });
  const trimEnd = h("input", { name: "trim_end", inputmode: "numeric", dir: "ltr", placeholder: fmtClock(lesson.duration_ms), value: clock(lesson.trim_end_ms) });
  const message = h("p", { class: "error", role: "alert" });
  const labels: Record<string, string> = {
    title: t("details.lessonTitle"),
    subject: t("details.subject"),
    grade: t("details.grade"),
    languages: t("details.languages"),
    teacher_name: t("details.teacherName"),
    description: t("details.description"),
    trim_start_ms: t("details.trimStart"),
    trim_end_ms: t("details.trimEnd"),
  };
  const save = h("button", { class: "btn primary big", type: "submit" }, [t("details.save")]);
  const form = h("form", { class: "details-form" }, [
    h("h2", {}, [t("details.heading")]),
    field(labels.title!, title),
    h("div", { class: "row" }, [field(labels.subject!, subject), subjectOther, field(labels.grade!, grade), gradeOther]),
    h("fieldset", { class: "row" }, [
      h("legend", {}, [labels.languages!]),
      ...languages.map((box) => h("label", { class: "check" }, [box, t(`lang.${box.value}` as Key)])),
    ]),
    field(labels.teacher_name!, teacherName),
    h("div", { class: "field" }, [h("span", { class: "label" }, [t("details.school")]), h("span", { class: "school", dir: "auto" }, [lesson.school || "—"])]),
    field(labels.description!, description),
    h("div", { class: "row" }, [
      field(labels.trim_start_ms!, trimStart, t("details.trimHint")),
      field(labels.trim_end_ms!, trimEnd, t("details.length", { time: fmtClock(lesson.duration_ms) })),
    ]),
    message,
    h("div", { class: "row" }, [save, h("button", { class: "btn big", type: "button", onclick: () => dialog.close() }, [t("common.close")])]),
  ]);
  const dialog = h("dialog", { class: "details-dialog", "aria-label": t("details.heading") }, [form]);
  // One key per form: a retry after a lost answer is answered once, a second save is a new request.
  const key = `details-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 10)}`;
  let attempt = 0;
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    message.textContent = "";
    const start = parseClock(trimStart.value);
    const end = parseClock(trimEnd.value);
    if (Number.isNaN(start)) return void (message.textContent = t("details.errClock", { field: labels.trim_start_ms! }));
    if (Number.isNaN(end)) return void (message.textContent = t("details.errClock", { field: labels.trim_end_ms! }));
    const body = {
      title: title.value,
      subject: subject.value === "other" ? subjectOther.value : subject.value,
      grade: grade.value === "other" ? gradeOther.value : grade.value,
      languages: languages.filter((box) => box.checked).map((box) => box.value),
      teacher_name: teacherName.value,
      description: description.value,
      trim_start_ms: start,
      trim_end_ms: end,
    };
    save.disabled = true;
    try {
      const saved = await api("POST", `/api/classes/${encodeURIComponent(classId)}/lesson`, body, me.token, { "Idempotency-Key": `${key}-${attempt}` });
      attempt += 1;
      toast(t("details.saved"));
      onSaved(saved.lesson as Lesson);
      dialog.close();
    } catch (err) {
      if (err instanceof ApiError && err.status >= 400 && err.status < 500) attempt += 1; // refused: the next try is a new request
      message.textContent = detailsError(err, labels);
    } finally {
      save.disabled = false;
    }
  });
  dialog.addEventListener("close", () => dialog.remove());
  document.body.append(dialog);
  dialog.showModal();
  title.focus();
}
