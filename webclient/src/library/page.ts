/**
 * /library: the school's published lessons, for anyone on the school network (no account).
 * /library/{class_id}: one lesson, played by the replay page from the library's routes
 * (`/api/library/{id}`: the class's view with no names), with its exported files to download.
 */
import { ApiError, api } from "../api";
import { langButton } from "../common";
import { h, replace } from "../dom";
import { fmtDate, getLang, t, type Key } from "../i18n";
// The player comes with this chunk, not after it: one round trip less before a lesson plays
// on a weak link (the list page carries ~5 KB it may not use).
import { startReplay, type ReplayOptions } from "../replay/page";
import { GRADES, LANGUAGES, SUBJECTS, fmtClock, gradeLabel, subjectLabel } from "../lessonfacts";

interface Download {
  name: "lesson.html" | "lesson.mp4";
  url: string;
  size: number;
}

interface LibraryLesson {
  class_id: string;
  title: string;
  subject: string;
  grade: string;
  languages: string[];
  teacher_name: string;
  school: string;
  description: string;
  started_at: number | null;
  duration_ms: number;
  has_audio: boolean;
  published_at: number | null;
  url: string;
  downloads: Download[];
}

// The Urdu font is fetched when the line is free: on the list at once, on a lesson once its
// board has all arrived, so on a weak link it does not take the line from the voice and the
// board (160 KB: 20 s at 64 kbit/s). Until then Urdu shows in the device's Arabic-script font.
let lineFree = false;
function fontWhenFree(free = lineFree): void {
  lineFree = free;
  if (lineFree && getLang() === "ur") void import("./font").catch(() => undefined);
}

function topbar(render: () => void): HTMLElement {
  return h("header", { class: "topbar" }, [
    h("a", { class: "brand", href: "/library" }, [t("library.title")]),
    h("div", { class: "spacer" }),
    langButton(render, { font: false }),
  ]);
}

function downloadLinks(downloads: Download[]): HTMLElement | null {
  if (!downloads.length) return null;
  return h(
    "p",
    { class: "library-downloads" },
    downloads.map((d) => h("a", { class: "btn", href: d.url, download: d.name }, [t(d.name === "lesson.html" ? "library.html" : "library.mp4")])),
  );
}

function select(name: string, label: Key, options: readonly string[], labelOf: (v: string) => string, value: string): HTMLSelectElement {
  return h("select", { name, "aria-label": t(label) }, [h("option", { value: "" }, [`${t(label)}: ${t("library.any")}`]), ...options.map((o) => h("option", { value: o, selected: o === value }, [labelOf(o)]))]) as HTMLSelectElement;
}

function lessonCard(lesson: LibraryLesson): HTMLElement {
  const facts = [lesson.subject ? subjectLabel(lesson.subject) : "", lesson.grade ? gradeLabel(lesson.grade) : "", lesson.teacher_name, fmtClock(lesson.duration_ms), lesson.published_at ? fmtDate(lesson.published_at) : ""].filter(Boolean);
  return h("li", { class: "card library-lesson", "data-class-id": lesson.class_id }, [
    h("h3", { dir: "auto" }, [h("a", { href: lesson.url }, [lesson.title])]),
    h("p", { class: "muted", dir: "auto" }, [facts.join(t("lessons.and"))]),
    lesson.description ? h("p", { dir: "auto" }, [lesson.description]) : null,
    h("p", {}, [h("a", { class: "btn primary", href: lesson.url }, [t("library.watch")])]),
    downloadLinks(lesson.downloads),
  ]);
}

export function startLibrary(root: HTMLElement, classId: string | null): void {
  if (classId) {
    void startLesson(root, classId);
    return;
  }
  const params = new URLSearchParams(location.search);
  const render = (): void => {
    fontWhenFree(true);
    const q = h("input", { type: "search", name: "q", value: params.get("q") ?? "", placeholder: t("library.searchHint"), "aria-label": t("library.search"), dir: "auto", maxlength: 200 }) as HTMLInputElement;
    const subject = select("subject", "library.subject", SUBJECTS, subjectLabel, params.get("subject") ?? "");
    const grade = select("grade", "library.grade", GRADES, gradeLabel, params.get("grade") ?? "");
    const lang = select("lang", "library.language", LANGUAGES, (l) => t(`lang.${l}` as Key), params.get("lang") ?? "");
    const list = h("ol", { class: "library-list" });
    const status = h("p", { class: "muted", role: "status" });
    const form = h("form", { class: "library-filters", role: "search" }, [q, subject, grade, lang, h("button", { class: "btn primary", type: "submit" }, [t("library.search")])]);
    const load = async (): Promise<void> => {
      const query = new URLSearchParams();
      for (const [key, el] of [["q", q], ["subject", subject], ["grade", grade], ["lang", lang]] as const) if (el.value) query.set(key, el.value);
      history.replaceState(null, "", query.size ? `/library?${query}` : "/library");
      try {
        const body = await api<{ lessons: LibraryLesson[]; total: number }>("GET", `/api/library?${query}`);
        replace(list, body.lessons.map(lessonCard));
        status.textContent = body.total ? t("library.count", { n: body.total }) : t("library.none");
      } catch (err) {
        const code = err instanceof ApiError ? err.body.code : "";
        status.textContent = code === "RATE_LIMITED" || code === "BUSY" ? t("library.busy") : err instanceof ApiError ? err.body.message : String(err);
      }
    };
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      void load();
    });
    for (const el of [subject, grade, lang]) el.addEventListener("change", () => void load());
    replace(root, [topbar(render), h("main", { class: "center wide" }, [h("h1", {}, [t("library.title")]), h("p", { class: "muted" }, [t("library.intro")]), form, status, list])]);
    void load();
  };
  render();
}

/** The lesson's info and first events the server put inside this page (see
 * classroom/library_http.py ``lesson_page``), taken once; null when the page has none. */
function bootOf(classId: string): ReplayOptions["boot"] {
  const script = document.getElementById("library-boot");
  if (!script) return undefined;
  script.remove();
  const audio = document.getElementById("library-audio") as HTMLAudioElement | null;
  audio?.removeAttribute("id");
  try {
    const boot = JSON.parse(script.textContent ?? "");
    if (boot.class_id !== classId) return undefined;
    return { info: boot.info, events: boot.events, audio };
  } catch {
    return undefined;
  }
}

async function startLesson(root: HTMLElement, classId: string): Promise<void> {
  const render = (): void => {
    fontWhenFree();
    const slot = h("div", { class: "replay-root" });
    replace(root, [topbar(render), h("main", { class: "center wide" }, [slot, h("a", { class: "btn big", href: "/library" }, [`‹ ${t("library.back")}`])])]);
    void startReplay(slot, {
      classId,
      token: "",
      me: { role: "student", id: "" },
      base: `/api/library/${encodeURIComponent(classId)}`,
      boot: bootOf(classId),
      stream: true,
      onLoaded: () => fontWhenFree(true),
      extra: (info) => downloadLinks(((info.lesson as unknown as LibraryLesson).downloads ?? []) as Download[]),
    });
  };
  render();
}
