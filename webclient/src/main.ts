/** Entry point: pick the app for the address, set the language, register the offline cache. */
import "./base.css";
import "./style.css";
import "./replay/replay.css";
import { applyLang, getLang } from "./i18n";

async function start(): Promise<void> {
  // The language's strings (and font) load beside the page's code, not before it.
  const ready = applyLang(getLang());
  const root = document.getElementById("app")!;
  const path = location.pathname;
  const lesson = /^\/lessons(?:\/([^/]+))?\/?$/.exec(path);
  const replay = /^\/replay\/([^/]+)\/?$/.exec(path);
  // /library is its own page (library.html, src/library/main.ts), not this app.
  if (replay) {
    const { startStudentReplay } = await import("./replay/student");
    await ready;
    startStudentReplay(root, decodeURIComponent(replay[1]!));
  } else if (lesson) {
    const { startLessons } = await import("./teacher/lessons");
    await ready;
    startLessons(root, lesson[1] ? decodeURIComponent(lesson[1]) : null);
  } else if (path.startsWith("/teacher")) {
    const { startTeacher } = await import("./teacher/console");
    await ready;
    startTeacher(root);
  } else {
    const match = /^\/join\/([^/]+)/.exec(path);
    const { startStudent } = await import("./student/join");
    await ready;
    startStudent(root, match ? decodeURIComponent(match[1]!) : "");
  }
}

void start();

// The app shell is cached so a repeat visit opens with no network (see src/sw.ts).
if ("serviceWorker" in navigator && location.protocol !== "file:") {
  navigator.serviceWorker.register("/sw.js", { scope: "/" }).catch(() => undefined);
}
