/**
 * The library's own entry (/library and /library/{class_id}, served from library.html): only
 * the library, the replay player and the strings they show (vite.library.config.ts keeps
 * only those), not the app's code. A first-ever visit over a 64 kbit/s link is bytes on the
 * line, so the lesson plays within 5 s. No service worker: a visitor watches a lesson once,
 * and a page on a plain-http LAN could not register one anyway.
 */
import "../base.css";
import "../replay/replay.css";
import { applyLang, getLang } from "../i18n";
import { startLibrary } from "./page";

const shelf = /^\/library(?:\/([^/]+))?\/?$/.exec(location.pathname);
let classId: string | null = null;
try {
  classId = shelf?.[1] ? decodeURIComponent(shelf[1]) : null;
} catch {
  classId = shelf![1]!; // not a lesson's id ("%E0%A4"): the page says it finds no such lesson
}
// In Urdu the page does not wait for the Nastaliq font: src/library/page.ts fetches it.
void applyLang(getLang(), { font: false }).then(() => startLibrary(document.getElementById("app")!, classId));
