/**
 * The offline lesson package's player: one classic script inlined into ``lesson.html`` (written
 * by classroom/export/package.py), playing a recorded lesson from ``file://`` with no server.
 *
 * Everything comes from inert ``<script type=...>`` blocks of the same page: the replay info
 * (the shape /replay/info answers), the events (the /replay/events pages' ``events``, joined,
 * gzipped and base64'd), the voice as one Opus track (base64) and the pictures the board shows
 * (data: URIs). Folding is ReplayState's and drawing is the live board's renderer, as on the
 * replay page. No fetch, no storage, no navigation: the page also runs inside a Kolibri HTML5
 * app's sandboxed frame. The root's ``data-t-ms`` and ``data-audio-ms`` say where the board and
 * the voice are (for tests).
 */
import { h, replace } from "../dom";
import { STRINGS as APP_STRINGS, locale, type Key, type Lang } from "../i18n";
import { ur } from "../i18n-ur";
import { BOARD_HEIGHT, BOARD_WIDTH } from "../board/model";
import { HIGHLIGHTER_OPACITY, drawBackground, drawItem } from "../board/render";
import { AUDIO_DRIFT_MS, PathCache, ReplayState, SPEEDS, STEP_MS, clock as lessonClock, type ReplayInfo } from "../replay/player";
import type { WireEvent } from "../net/types";
import { gunzip } from "./inflate";
import css from "./package.css?inline";

const CANVAS_SCALE = 0.5;
const VIEWER = { role: "student", id: "" };

// Both languages inside the one file (it can fetch nothing).
const STRINGS: Record<Lang, Record<Key, string>> = { en: APP_STRINGS.en, ur };
let lang: Lang = "en";
function t(key: Key, params: Record<string, string | number> = {}): string {
  const template = STRINGS[lang][key] ?? STRINGS.en[key] ?? key;
  return template.replace(/\{(\w+)\}/g, (_, name: string) => {
    const value = params[name];
    return value === undefined ? `{${name}}` : typeof value === "number" ? num(value) : value;
  });
}
function num(n: number, options: Intl.NumberFormatOptions = {}): string {
  return new Intl.NumberFormat(locale(lang), options).format(n);
}
const clock = (ms: number): string => lessonClock(ms, num);

function block(id: string): string {
  return document.getElementById(id)?.textContent?.trim() ?? "";
}
function bytesOf(base64: string): Uint8Array<ArrayBuffer> {
  const raw = atob(base64);
  const out = new Uint8Array(raw.length);
  for (let i = 0; i < raw.length; i++) out[i] = raw.charCodeAt(i);
  return out;
}
/** The events' JSON: the browser's own gunzip where it has one, else ours (older browsers). */
async function gunzipText(bytes: Uint8Array<ArrayBuffer>): Promise<{ text: string; by: string }> {
  if (typeof DecompressionStream !== "undefined" && typeof Blob.prototype.stream === "function") {
    // Response reads a stream here; nothing is fetched.
    const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("gzip"));
    return { text: await new Response(stream).text(), by: "native" };
  }
  return { text: new TextDecoder().decode(gunzip(bytes)), by: "inflate" };
}


async function start(root: HTMLElement): Promise<void> {
  const info = JSON.parse(block("takhti-info")) as ReplayInfo & { lang?: Lang };
  const pictures = JSON.parse(block("takhti-pictures") || "{}") as Record<string, string>;
  lang = info.lang === "ur" ? "ur" : "en";
  const state = new ReplayState(info, VIEWER);
  const unpacked = await gunzipText(bytesOf(block("takhti-events")));
  state.add(JSON.parse(unpacked.text) as WireEvent[]);
  state.complete = true;
  const duration = Math.max(info.duration_ms, 1);
  const track = info.audio[0] ?? null;
  const audioBase64 = block("takhti-audio");
  const audioUrl = track && audioBase64 ? URL.createObjectURL(new Blob([bytesOf(audioBase64)], { type: `audio/${track.container || "webm"}` })) : "";
  const paths = new PathCache();
  const images = new Map<string, HTMLImageElement>();

  let t0 = 0;
  let wall0 = performance.now();
  let playing = false;
  let rate = 1;
  const now = (): number => (playing ? Math.min(duration, t0 + (performance.now() - wall0) * rate) : t0);

  const audio = h("audio", { class: "replay-audio", preload: "auto" }) as HTMLAudioElement;
  if (audioUrl) audio.src = audioUrl;
  const canvas = h("canvas", { class: "replay-canvas", role: "img", width: BOARD_WIDTH * CANVAS_SCALE, height: BOARD_HEIGHT * CANVAS_SCALE });
  const player = h("main", { class: "replay", "data-t-ms": "0", "data-audio-ms": "", "data-ready": "0" });
  let seek: HTMLInputElement;
  let time: HTMLElement;
  let playBtn: HTMLButtonElement;
  let cards: HTMLElement;
  let cardKey = "";
  let drawn = "";

  function draw(force = false): void {
    const board = state.board;
    const key = `${board.version}|${board.current}|${state.count}`;
    if (key === drawn && !force) return;
    drawn = key;
    const ctx = canvas.getContext("2d")!;
    ctx.setTransform(CANVAS_SCALE, 0, 0, CANVAS_SCALE, 0, 0);
    const page = board.page();
    const bg = page?.background as any;
    let image: HTMLImageElement | undefined;
    if (bg?.kind === "image" && bg.image && pictures[bg.image]) {
      image = images.get(bg.image);
      if (!image) {
        image = new Image();
        image.onload = () => draw(true);
        image.src = pictures[bg.image]!;
        images.set(bg.image, image);
      }
    }
    drawBackground(ctx, page?.background, image?.complete ? image : undefined);
    for (const item of board.visibleItems()) {
      if (item.type === "stroke") {
        if (item.pts.length < 4) continue;
        ctx.globalAlpha = item.tool === "highlighter" ? HIGHLIGHTER_OPACITY : 1;
        ctx.fillStyle = item.color;
        ctx.fill(paths.get(item));
        ctx.globalAlpha = 1;
      } else drawItem(ctx, item);
    }
  }

  function renderCards(force = false): void {
    const side = state.side;
    const key = JSON.stringify([side.poll?.poll_id, side.results?.poll_id, side.question?.quiz_id, side.question?.question, side.camera?.asset_id]);
    if (key === cardKey && !force) return;
    cardKey = key;
    const out: HTMLElement[] = [];
    const list = (items: string[]): HTMLElement => h("ul", {}, items.map((o) => h("li", { dir: "auto" }, [o])));
    if (side.poll) out.push(h("div", { class: "replay-card", "data-kind": "poll" }, [h("h3", {}, [t("replay.poll")]), h("p", { dir: "auto" }, [String(side.poll.question ?? "")]), list(side.poll.options ?? [])]));
    if (side.results) {
      const tally = side.results.tally ?? {};
      const counts: number[] = tally.counts ?? [];
      out.push(h("div", { class: "replay-card", "data-kind": "results" }, [
        h("h3", {}, [t("replay.results")]),
        h("p", { dir: "auto" }, [String(side.results.question ?? "")]),
        list(((tally.options ?? []) as string[]).map((o, i) => `${o}: ${num(counts[i] ?? 0)}`)),
        h("p", { class: "muted" }, [t("replay.responses", { n: tally.responses ?? 0 })]),
      ]));
    }
    if (side.question) {
      const q = side.question;
      out.push(h("div", { class: "replay-card", "data-kind": "question" }, [h("h3", {}, [t("replay.question", { n: (q.question ?? 0) + 1, total: q.questions ?? 1 })]), h("p", { dir: "auto" }, [String(q.text ?? "")]), list(q.options ?? [])]));
    }
    const picture = side.camera?.asset_id ? pictures[side.camera.asset_id] : undefined;
    if (picture) out.push(h("figure", { class: "replay-card", "data-kind": "camera" }, [h("img", { src: picture, alt: t("replay.camera") }), h("figcaption", {}, [t("replay.camera")])]));
    replace(cards, out);
  }

  function syncAudio(ms: number, force = false): void {
    if (!track || !audioUrl) return;
    const want = (ms - track.t_ms) / 1000;
    const inside = want >= 0 && ms < track.t_ms + track.duration_ms;
    if (!inside) {
      if (!audio.paused) audio.pause();
      player.dataset.audioMs = "";
      return;
    }
    if (force || Math.abs(audio.currentTime - want) * 1000 > AUDIO_DRIFT_MS) {
      try {
        audio.currentTime = want;
      } catch {
        /* not ready yet: set again on the next tick */
      }
    }
    audio.playbackRate = rate;
    if (playing && audio.paused) void audio.play().catch(() => undefined);
    if (!playing && !audio.paused) audio.pause();
    player.dataset.audioMs = String(Math.round(track.t_ms + audio.currentTime * 1000));
  }
  const noteAudio = (): void => {
    if (track && !audio.paused) player.dataset.audioMs = String(Math.round(track.t_ms + audio.currentTime * 1000));
  };
  audio.addEventListener("timeupdate", noteAudio);

  function show(ms: number): void {
    state.seek(ms);
    draw();
    renderCards();
    seek.value = String(Math.round(ms));
    time.textContent = `${clock(ms)} / ${clock(duration)}`;
    player.dataset.tMs = String(Math.round(ms));
  }

  /** Jump to lesson ms ``ms``; returns the ms the board took to fold and draw. */
  function goTo(ms: number): number {
    const target = Math.max(0, Math.min(duration, ms));
    const started = performance.now();
    t0 = target;
    wall0 = performance.now();
    show(target);
    const spent = performance.now() - started;
    syncAudio(target, true);
    return spent;
  }

  function setPlaying(on: boolean): void {
    if (on && t0 >= duration) t0 = 0;
    t0 = now();
    wall0 = performance.now();
    playing = on;
    playBtn.textContent = on ? t("replay.pause") : t("replay.play");
    playBtn.setAttribute("aria-pressed", on ? "true" : "false");
    syncAudio(t0, true);
  }

  // The whole view is rebuilt on a language switch (the clock and the board stay).
  function build(): void {
    document.documentElement.lang = lang;
    document.documentElement.dir = lang === "ur" ? "rtl" : "ltr";
    document.title = String(info.lesson.title ?? "");
    canvas.setAttribute("aria-label", t("board.label"));
    playBtn = h("button", { class: "btn primary replay-play", type: "button", "aria-keyshortcuts": "Space", onclick: () => setPlaying(!playing) }, [playing ? t("replay.pause") : t("replay.play")]) as HTMLButtonElement;
    seek = h("input", { type: "range", class: "replay-seek", min: 0, max: duration, step: 100, value: Math.round(now()), "aria-label": t("replay.seek"), dir: "ltr", oninput: () => goTo(Number(seek.value)) }) as HTMLInputElement;
    const marks = h("div", { class: "replay-marks", dir: "ltr", "aria-hidden": "true" });
    time = h("span", { class: "replay-time", dir: "ltr" });
    const speed = h("select", { class: "replay-speed", "aria-label": t("replay.speed") }, SPEEDS.map((s) => h("option", { value: s, selected: s === rate }, [`${num(s)}×`]))) as HTMLSelectElement;
    speed.addEventListener("change", () => {
      t0 = now();
      wall0 = performance.now();
      rate = Number(speed.value);
      audio.playbackRate = rate;
    });
    const other: Lang = lang === "ur" ? "en" : "ur";
    const langBtn = h("button", { class: "btn replay-lang", type: "button", lang: other, onclick: () => { lang = other; build(); } }, [t("lang.switch")]);
    cards = h("div", { class: "replay-cards", "aria-live": "polite" });
    const chapterList = h("ol", { class: "replay-chapters" });
    for (const chapter of info.chapters) {
      const at = Math.min(chapter.t_ms, duration);
      const label = `${t(`replay.kind.${chapter.kind}` as Key)}: ${chapter.title}`;
      marks.append(h("span", { class: `replay-mark mark-${chapter.kind}`, title: label, style: `left:${(at / duration) * 100}%`, onclick: () => goTo(at) }));
      chapterList.append(h("li", {}, [h("button", { class: "btn link", type: "button", onclick: () => goTo(at) }, [h("span", { dir: "ltr" }, [clock(at)]), " ", h("span", { dir: "auto" }, [label])])]));
    }
    replace(player, [
      h("header", { class: "replay-head" }, [h("h1", { dir: "auto" }, [String(info.lesson.title ?? "")]), langBtn]),
      h("div", { class: "replay-stage" }, [canvas, cards]),
      h("div", { class: "replay-bar" }, [playBtn, h("div", { class: "replay-track" }, [seek, marks]), time, h("label", { class: "replay-speed-label" }, [t("replay.speed"), " ", speed])]),
      h("p", { class: "muted replay-keys" }, [t("replay.keys")]),
      h("h2", {}, [t("replay.chapters")]),
      chapterList,
      audio,
    ]);
    show(now());
    renderCards(true);
  }

  document.addEventListener("keydown", (e) => {
    const target = e.target as HTMLElement;
    if (target.tagName === "SELECT" || (target.tagName === "INPUT" && target !== seek) || target.tagName === "BUTTON") return;
    if (e.key === " " || e.code === "Space") setPlaying(!playing);
    else if (e.key === "ArrowLeft") goTo(now() - STEP_MS);
    else if (e.key === "ArrowRight") goTo(now() + STEP_MS);
    else if (e.key === "Home") goTo(0);
    else if (e.key === "End") goTo(duration);
    else return;
    e.preventDefault();
  });

  const tick = (): void => {
    requestAnimationFrame(tick);
    if (!playing) return;
    let ms = now();
    if (ms >= duration) {
      ms = duration;
      setPlaying(false);
    }
    show(ms);
    syncAudio(ms);
  };

  // Typed board text in Nastaliq: the inlined font is decoded before the first drawing.
  await document.fonts?.load('40px "Noto Nastaliq Urdu"', "اردو").catch(() => undefined);
  replace(root, [player]);
  build();
  player.dataset.ready = "1";
  player.dataset.unpacked = unpacked.by;
  (window as any).__replay = { goTo, state, audio, play: () => setPlaying(true), pause: () => setPlaying(false), clock: now, get playing() { return playing; } };
  requestAnimationFrame(tick);
}

const style = document.createElement("style");
style.textContent = css;
document.head.append(style);
const root = document.getElementById("takhti-package") ?? document.body;
start(root).catch((err: unknown) => {
  replace(root, [h("p", { role: "alert" }, [`The lesson could not be opened: ${(err as Error).message}`])]);
});
