/**
 * The replay page: a recorded lesson played in the browser (the teacher's /lessons/{id}, and a
 * student's /replay/{id} when the teacher shared it).
 *
 * Loads /replay/info, then the event pages (gzip; playback may start after the first one),
 * folds them with ReplayState (the live board's model) and draws with the live board's
 * renderer. The audio segments play in one <audio> element kept in step with the player clock;
 * the root's ``data-audio-ms`` and ``data-t-ms`` say where audio and board are (for tests).
 */
import { ApiError, api } from "../api";
import { h, replace } from "../dom";
import { fmtNumber, t, type Key, errorText } from "../i18n";
import { BOARD_HEIGHT, BOARD_WIDTH, type BoardItem } from "../board/model";
import { drawBackground, drawItem, HIGHLIGHTER_OPACITY } from "../board/render";
import { AUDIO_DRIFT_MS, PathCache, ReplayState, SPEEDS, STEP_MS, clock as lessonClock, type ReplayAudio, type ReplayInfo } from "./player";

// The first page is small so the board shows after ~20 KB on a weak link; the rest come in
// bigger pages (fewer round trips). Streamed (the library), the pages after the first grow
// from STREAM_PAGE_LIMIT: on a 64 kbit/s link a 2,000-event page takes ten seconds beside
// the voice, and the board would wait for it seconds after play started.
const FIRST_PAGE_LIMIT = 300;
const PAGE_LIMIT = 2000;
const STREAM_PAGE_LIMIT = 250;
const CANVAS_SCALE = 0.5; // 960x540 backing store: what a tablet needs, a quarter of the pixels

const clock = (ms: number): string => lessonClock(ms, fmtNumber);


export interface ReplayOptions {
  classId: string;
  token: string;
  me: { role: string; id: string };
  /** Extra controls above the player (the teacher's share switch). */
  extra?: (info: ReplayInfo) => HTMLElement | null;
  /** Where the replay data and assets come from: the class's (default, with the token) or
   * the library's (`/api/library/{id}`, no token: anyone may watch a published lesson). */
  base?: string;
  /** What the page already holds (the library's lesson page carries its info and first events
   * inside it, and its first voice segment already loading in an <audio> element). */
  boot?: { info: ReplayInfo; events: EventsPage; audio: HTMLAudioElement | null };
  /** Play voice segments from their URLs (the route answers byte ranges), not fetched whole
   * first: play starts after the first few KB instead of after the whole segment, and the
   * event pages need not wait for the voice (it takes only its bit rate of the line). */
  stream?: boolean;
  /** Called once every event of the lesson has arrived. */
  onLoaded?: () => void;
}

interface EventsPage {
  events: any[];
  next_after_seq: number;
  more: boolean;
}

export async function startReplay(root: HTMLElement, options: ReplayOptions): Promise<void> {
  const root_ = options.base ?? `/api/classes/${encodeURIComponent(options.classId)}`;
  const base = `${root_}/replay`;
  let info: ReplayInfo;
  replace(root, [h("p", { class: "muted", role: "status" }, [t("replay.loading")])]);
  // The first events page is asked for with the info, not after it: one round trip less
  // before the first frame (and the info of a long lesson takes the server longest).
  const boot = options.boot;
  const firstPage: Promise<EventsPage> = boot ? Promise.resolve(boot.events) : api("GET", `${base}/events?after_seq=0&limit=${FIRST_PAGE_LIMIT}`, undefined, options.token);
  firstPage.catch(() => undefined);
  try {
    info = boot ? boot.info : await api("GET", `${base}/info`, undefined, options.token);
  } catch (err) {
    const code = err instanceof ApiError ? err.body.code : "";
    const why = code === "FORBIDDEN" ? t("replay.forbidden") : code === "STUDENT_REMOVED" ? t("error.STUDENT_REMOVED") : t("lessons.notFound");
    replace(root, [h("p", { class: "error", role: "alert" }, [why])]);
    return;
  }
  const state = new ReplayState(info, options.me);
  const paths = new PathCache();
  const images = new Map<string, HTMLImageElement>();
  // The programme is the lesson between the teacher's trim points (ms from its first event, as
  // the exports cut it): play starts at ``begin`` and stops at ``end``; the bar, its chapter
  // marks and the clock shown span just that. Positions stay lesson ms (data-t-ms, goTo).
  const lessonEnd = Math.max(info.duration_ms, 1);
  const trimStart = info.lesson.trim_start_ms;
  const trimEnd = info.lesson.trim_end_ms;
  const begin = typeof trimStart === "number" ? Math.min(Math.max(trimStart, 0), lessonEnd - 1) : 0;
  const end = typeof trimEnd === "number" && trimEnd > begin ? Math.min(trimEnd, lessonEnd) : lessonEnd;
  const length = end - begin;
  const assetUrl = (url: string): string => (options.token ? `${url}?token=${encodeURIComponent(options.token)}` : url);
  const assetPath = (assetId: string): string => assetUrl(`${root_}/assets/${encodeURIComponent(assetId)}`);

  // --- the view
  const canvas = h("canvas", { class: "replay-canvas", role: "img", "aria-label": t("board.label"), width: BOARD_WIDTH * CANVAS_SCALE, height: BOARD_HEIGHT * CANVAS_SCALE });
  const playBtn = h("button", { class: "btn primary big replay-play", type: "button", "aria-keyshortcuts": "Space" }, [t("replay.play")]);
  const seek = h("input", { type: "range", class: "replay-seek", min: begin, max: end, step: 100, value: begin, "aria-label": t("replay.seek"), dir: "ltr" }) as HTMLInputElement;
  const marks = h("div", { class: "replay-marks", dir: "ltr", "aria-hidden": "true" });
  const time = h("span", { class: "replay-time", dir: "ltr" }, [`${clock(0)} / ${clock(length)}`]);
  const speed = h("select", { class: "replay-speed", "aria-label": t("replay.speed") }, SPEEDS.map((s) => h("option", { value: s, selected: s === 1 }, [`${fmtNumber(s)}×`]))) as HTMLSelectElement;
  const cards = h("div", { class: "replay-cards", "aria-live": "polite" });
  const audio = boot?.audio ?? (h("audio", { preload: "auto" }) as HTMLAudioElement);
  audio.classList.add("replay-audio");
  const chapterList = h("ol", { class: "replay-chapters" });
  const loading = h("p", { class: "muted replay-loading", role: "status" }, [t("replay.loading")]);
  const player = h("section", { class: "card wide replay", "data-t-ms": String(begin), "data-begin-ms": String(begin), "data-end-ms": String(end), "data-audio-ms": "", "data-ready": "0" }, [
    h("h2", { dir: "auto" }, [String(info.lesson.title ?? "")]),
    options.extra?.(info) ?? null,
    h("div", { class: "replay-stage" }, [canvas, cards]),
    h("div", { class: "replay-bar" }, [playBtn, h("div", { class: "replay-track" }, [seek, marks]), time, h("label", { class: "replay-speed-label" }, [t("replay.speed"), " ", speed])]),
    loading,
    h("p", { class: "muted replay-keys" }, [t("replay.keys")]),
    h("h2", {}, [t("replay.chapters")]),
    chapterList,
    audio,
  ]);
  replace(root, [player]);
  if (options.me.role === "teacher") void showVideo(player, options);

  for (const chapter of info.chapters) {
    if (chapter.t_ms < begin || chapter.t_ms > end) continue; // cut away by a trim point
    const at = chapter.t_ms;
    const label = `${t(`replay.kind.${chapter.kind}` as Key)}: ${chapter.title}`;
    // A mark on the bar is for the pointer; the list below is the same jump for keys and readers.
    marks.append(h("span", { class: `replay-mark mark-${chapter.kind}`, title: label, style: `left:${((at - begin) / Math.max(length, 1)) * 100}%`, onclick: () => void goTo(at) }));
    chapterList.append(h("li", {}, [h("button", { class: "btn link", type: "button", onclick: () => void goTo(at) }, [h("span", { dir: "ltr" }, [clock(at - begin)]), " ", h("span", { dir: "auto" }, [label])])]));
  }

  // --- the clock
  let t0 = begin; // lesson ms at wall0
  let wall0 = performance.now();
  let playing = false;
  let drawnVersion = -1;
  let drawnPage = "";
  let drawnCount = -1;
  let drawnInk = "";
  const now = (): number => (playing ? Math.min(end, t0 + (performance.now() - wall0) * Number(speed.value)) : t0);

  function draw(): void {
    const ctx = canvas.getContext("2d")!;
    const board = state.board;
    if (board.version === drawnVersion && board.current === drawnPage && state.count === drawnCount && state.inkKey === drawnInk) return;
    drawnInk = state.inkKey;
    drawnVersion = board.version;
    drawnPage = board.current;
    drawnCount = state.count;
    ctx.setTransform(CANVAS_SCALE, 0, 0, CANVAS_SCALE, 0, 0);
    const page = board.page();
    const bg = page?.background as any;
    let image: HTMLImageElement | undefined;
    if (bg?.kind === "image" && bg.image) {
      image = images.get(bg.image);
      if (!image) {
        image = new Image();
        image.onload = () => { drawnVersion = -1; draw(); };
        image.src = assetPath(bg.image);
        images.set(bg.image, image);
      }
    }
    drawBackground(ctx, page?.background, image?.complete ? image : undefined);
    for (const visible of board.visibleItems()) {
      if (visible.type === "stroke") {
        // A stroke between two batches: its points so far and the part of the next batch drawn.
        const more = state.ink.get(visible.id);
        const item = more ? { ...visible, pts: visible.pts.concat(more) } : visible;
        if (item.pts.length < 4) continue;
        ctx.globalAlpha = item.tool === "highlighter" ? HIGHLIGHTER_OPACITY : 1;
        ctx.fillStyle = item.color;
        ctx.fill(paths.get(item));
        ctx.globalAlpha = 1;
      } else drawItem(ctx, visible);
    }
  }

  let cardKey = "";
  function renderCards(): void {
    const side = state.side;
    const key = JSON.stringify([side.poll?.poll_id, side.results?.poll_id, side.question?.quiz_id, side.question?.question, side.camera?.asset_id]);
    if (key === cardKey) return;
    cardKey = key;
    const out: HTMLElement[] = [];
    if (side.poll) {
      out.push(h("div", { class: "card replay-card poll-card", "data-kind": "poll" }, [h("h3", {}, [t("replay.poll")]), h("p", { dir: "auto" }, [side.poll.question]), h("ul", {}, (side.poll.options ?? []).map((o: string) => h("li", { dir: "auto" }, [o])))]));
    }
    if (side.results) {
      const tally = side.results.tally ?? {};
      const options: string[] = tally.options ?? [];
      const counts: number[] = tally.counts ?? [];
      out.push(h("div", { class: "card replay-card results-card", "data-kind": "results" }, [
        h("h3", {}, [t("replay.results")]),
        h("p", { dir: "auto" }, [side.results.question]),
        h("ul", {}, options.map((o, i) => h("li", { dir: "auto" }, [`${o}: ${fmtNumber(counts[i] ?? 0)}`]))),
        h("p", { class: "muted" }, [t("replay.responses", { n: tally.responses ?? 0 })]),
      ]));
    }
    if (side.question) {
      const q = side.question;
      out.push(h("div", { class: "card replay-card question-card", "data-kind": "question" }, [
        h("h3", {}, [t("replay.question", { n: (q.question ?? 0) + 1, total: q.questions ?? 1 })]),
        h("p", { dir: "auto" }, [q.text ?? ""]),
        h("ul", {}, (q.options ?? []).map((o: string) => h("li", { dir: "auto" }, [o]))),
      ]));
    }
    if (side.camera?.asset_id) {
      const url = assetPath(side.camera.asset_id);
      out.push(h("figure", { class: "card replay-card camera-card", "data-kind": "camera" }, [h("img", { src: url, alt: t("replay.camera") }), h("figcaption", {}, [t("replay.camera")])]));
    }
    replace(cards, out);
  }

  // --- audio: the segment under the clock, in step
  const segments: ReplayAudio[] = [...info.audio].sort((a, b) => a.t_ms - b.t_ms);
  let current: ReplayAudio | null = null;
  function segmentAt(ms: number): ReplayAudio | null {
    for (const s of segments) if (s.t_ms <= ms && ms < s.t_ms + s.duration_ms) return s;
    return null;
  }
  // Segments are fetched whole and played from blob URLs: those seek anywhere (the asset route
  // answers no byte ranges), and a segment heard once is not fetched again after a seek back.
  const blobs = new Map<string, Promise<string>>();
  const blobOf = (s: ReplayAudio): Promise<string> => {
    if (options.stream) return Promise.resolve(s.url);
    let found = blobs.get(s.url);
    if (!found) {
      found = fetch(s.url, options.token ? { headers: { Authorization: `Bearer ${options.token}` } } : {})
        .then((r) => (r.ok ? r.blob() : Promise.reject(new Error(String(r.status)))))
        .then((b) => URL.createObjectURL(b));
      found.catch(() => blobs.delete(s.url));
      blobs.set(s.url, found);
    }
    return found;
  };
  // The first seconds of voice are asked for with the first events page (a weak link then
  // carries both before the rest of the board; see load()).
  if (segments.length) void blobOf(segmentAt(0) ?? segments[0]!).catch(() => undefined);
  let loadedSrc: ReplayAudio | null = null;
  function syncAudio(ms: number, force = false): void {
    const s = segmentAt(ms);
    if (s !== current) {
      current = s;
      loadedSrc = null;
      audio.pause();
      if (!s) audio.removeAttribute("src");
      else {
        void blobOf(s).then((url) => {
          if (current !== s) return;
          // The same URL again would start its download over (the page's element may be
          // loading it already).
          if (audio.src !== new URL(url, location.href).href) audio.src = url;
          loadedSrc = s;
          syncAudio(now(), true);
        });
        const next = segments[segments.indexOf(s) + 1];
        if (next) void blobOf(next).catch(() => undefined);
      }
    }
    if (!s || loadedSrc !== s) {
      player.dataset.audioMs = "";
      return;
    }
    const want = (ms - s.t_ms) / 1000;
    if (force || Math.abs(audio.currentTime - want) * 1000 > AUDIO_DRIFT_MS) {
      try {
        audio.currentTime = want;
      } catch {
        /* not loaded yet: set again on the next tick */
      }
    }
    audio.playbackRate = Number(speed.value);
    if (playing && audio.paused) void audio.play().catch(() => undefined);
    if (!playing && !audio.paused) audio.pause();
    player.dataset.audioMs = String(Math.round(s.t_ms + audio.currentTime * 1000));
  }
  // Streamed, the next segment is fetched into the browser's cache (its route is cacheable for a
  // year) once the one playing has all arrived (the element goes idle: "suspend"): the voice
  // does not stop for a round trip at each 3-s boundary on a weak link, and the next segment
  // never shares the line with the one needed now.
  const prefetched = new Set<string>();
  audio.addEventListener("suspend", () => {
    if (!options.stream || !current || loadedSrc !== current) return;
    const next = segments[segments.indexOf(current) + 1];
    if (!next || prefetched.has(next.url)) return;
    prefetched.add(next.url);
    void fetch(next.url)
      .then((r) => (r.ok ? r.arrayBuffer() : Promise.reject(new Error(String(r.status)))))
      .catch(() => prefetched.delete(next.url)); // a refusal (429) is not cached: asked again
  });
  audio.addEventListener("timeupdate", () => {
    if (current && loadedSrc === current) player.dataset.audioMs = String(Math.round(current.t_ms + audio.currentTime * 1000));
  });
  audio.addEventListener("seeked", () => {
    if (current && loadedSrc === current) player.dataset.audioMs = String(Math.round(current.t_ms + audio.currentTime * 1000));
  });

  const last = { fold_ms: 0, draw_ms: 0, folded: 0 };
  function show(ms: number): void {
    const a = performance.now();
    last.folded = state.seek(ms);
    const b = performance.now();
    draw();
    last.fold_ms = b - a;
    last.draw_ms = performance.now() - b;
    renderCards();
    seek.value = String(Math.round(ms));
    time.textContent = `${clock(ms - begin)} / ${clock(length)}`;
    player.dataset.tMs = String(Math.round(ms));
  }

  /** Jump to lesson ms ``ms``; resolves with the ms the board took to fold and draw. */
  async function goTo(ms: number): Promise<number> {
    const target = Math.max(begin, Math.min(end, ms));
    const started = performance.now();
    while (state.loadedTo < target && !state.complete) await nextPage;
    t0 = target;
    wall0 = performance.now();
    show(target);
    const spent = performance.now() - started;
    syncAudio(target, true);
    return spent;
  }

  function setPlaying(on: boolean): void {
    if (on && t0 >= end) t0 = begin;
    t0 = now();
    wall0 = performance.now();
    playing = on;
    playBtn.textContent = on ? t("replay.pause") : t("replay.play");
    playBtn.setAttribute("aria-pressed", on ? "true" : "false");
    syncAudio(t0, true);
  }

  playBtn.addEventListener("click", () => setPlaying(!playing));
  seek.addEventListener("input", () => void goTo(Number(seek.value)));
  speed.addEventListener("change", () => {
    t0 = now();
    wall0 = performance.now();
    audio.playbackRate = Number(speed.value);
  });
  const onKey = (e: KeyboardEvent): void => {
    if (!player.isConnected) return document.removeEventListener("keydown", onKey);
    const target = e.target as HTMLElement;
    if (target.tagName === "SELECT" || (target.tagName === "INPUT" && target !== seek)) return;
    if (e.key === " " || e.code === "Space") setPlaying(!playing);
    else if (e.key === "ArrowLeft") void goTo(now() - STEP_MS);
    else if (e.key === "ArrowRight") void goTo(now() + STEP_MS);
    else if (e.key === "Home") void goTo(begin);
    else if (e.key === "End") void goTo(end);
    else return;
    e.preventDefault();
  };
  document.addEventListener("keydown", onKey);

  // Board text drawn before the Urdu font arrived (the library fetches it late) is drawn again.
  // Let go with the player (a language switch or another lesson builds a new one).
  const onFonts = (): void => {
    if (!player.isConnected) return document.fonts?.removeEventListener?.("loadingdone", onFonts);
    drawnVersion = -1;
    draw();
  };
  document.fonts?.addEventListener?.("loadingdone", onFonts);

  const tick = (): void => {
    if (!player.isConnected) return document.fonts?.removeEventListener?.("loadingdone", onFonts);
    requestAnimationFrame(tick);
    if (!playing) return;
    let ms = now();
    if (ms >= end) {
      ms = end;
      setPlaying(false);
    }
    if (state.loadedTo < ms && !state.complete) {
      // Waiting for the next page on a slow link: hold the clock where the data ends.
      ms = state.loadedTo;
      t0 = ms;
      wall0 = performance.now();
    }
    show(ms);
    syncAudio(ms);
  };

  // --- the event pages, one after another; the first one starts playback
  let release: () => void = () => undefined;
  let nextPage: Promise<void> = new Promise((r) => (release = r));
  let after = 0;
  let pages = 0;
  let started = false;
  const load = async (): Promise<void> => {
    for (;;) {
      const limit = options.stream ? Math.min(PAGE_LIMIT, STREAM_PAGE_LIMIT * 2 ** (pages - 1)) : PAGE_LIMIT;
      const page = pages === 0 ? await firstPage : await api("GET", `${base}/events?after_seq=${after}&limit=${limit}`, undefined, options.token);
      state.add(page.events);
      after = page.next_after_seq;
      pages++;
      // The first frame is the programme's start: once the events up to it are here (the
      // first page, unless the teacher trimmed a long opening away).
      if (!started && (state.loadedTo >= begin || !page.more)) {
        started = true;
        show(begin);
        syncAudio(begin, true);
        player.dataset.ready = "1";
        (window as any).__replay.firstFrameMs = performance.now();
        requestAnimationFrame(tick);
      }
      const done = release;
      nextPage = new Promise((r) => (release = r));
      done();
      if (!page.more) break;
      if (pages === 1 && segments.length && !options.stream) {
        // The voice of the first seconds before the rest of the board: on a 64 kbit/s link the
        // next pages would share the line with it and hold back the start of play by seconds.
        const first = segmentAt(0) ?? segments[0]!;
        await Promise.race([blobOf(first).catch(() => undefined), new Promise((r) => setTimeout(r, 4000))]);
      }
    }
    state.complete = true;
    release();
    prepare();
    loading.remove();
    player.dataset.loaded = "1";
    options.onLoaded?.();
  };
  // Once everything arrived: fold to the end once (every checkpoint exists from then on, so no
  // seek folds more than CHECKPOINT_EVERY events), then work out the finished strokes' outlines
  // a few ms at a time, so a seek to a page not seen yet only fills paths.
  function prepare(): void {
    const at = now();
    state.seek(Number.MAX_SAFE_INTEGER);
    const strokes = [...state.board.items.values()].filter((i) => i.type === "stroke" && i.done);
    show(at);
    let next = 0;
    const slice = (): void => {
      const until = performance.now() + 8;
      while (next < strokes.length && performance.now() < until) paths.get(strokes[next++] as BoardItem & { type: "stroke" });
      if (next < strokes.length) setTimeout(slice, 0);
      else player.dataset.warm = "1";
    };
    setTimeout(slice, 0);
  }

  (window as any).__replay = { goTo, state, last, play: () => setPlaying(true), pause: () => setPlaying(false), audio };
  try {
    await load();
  } catch (err) {
    loading.textContent = errorText(err);
  }
}

/** A "Video" link beside the title once the lesson was exported as lesson.mp4 (the teacher's). */
async function showVideo(player: HTMLElement, options: ReplayOptions): Promise<void> {
  try {
    const state = await api("GET", `/api/classes/${encodeURIComponent(options.classId)}/export`, undefined, options.token);
    const mp4 = (state.files as { name: string; url: string }[]).find((f) => f.name === "lesson.mp4");
    if (!mp4) return;
    const href = `${mp4.url}?token=${encodeURIComponent(options.token)}`;
    player.querySelector("h2")?.after(h("p", { class: "replay-video" }, [h("a", { class: "btn big", href, target: "_blank", rel: "noopener" }, [t("export.video")])]));
  } catch {
    /* not exported, or offline: the replay plays without it */
  }
}
