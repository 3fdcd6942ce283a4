/** The teacher console: sign in (or first-run setup), pick a class, run it from the smartboard. */
import { ApiError, api, assetUrl, blobUrl, sessions, type TeacherSession } from "../api";
import { BoardView } from "../board/view";
import { confirmDialog, field, langButton, statusPill } from "../common";
import { h, replace, toast } from "../dom";
import { fmtDate, fmtNumber, t, sep, errorText } from "../i18n";
import { tickCountdowns } from "../quiz";
import { ClassSession } from "../session";
import { toolbar } from "../toolbar";
import { detailsDialog } from "./lessons";
import { pagesPanel, pageBar } from "./pages";
import { pollsPanel } from "./polls";
import { debriefPanel, practiceButton, practicePanel } from "./practice";
import { quizPanel } from "./quiz";
import { rosterPanel } from "./roster";
import { VoiceRecorder, voiceSupport } from "./voice";

export interface ClassInfo {
  class_id: string;
  title: string;
  join_code: string;
  join_url: string;
  /** False when the server found no LAN address: tablets cannot open `join_url`. */
  join_reachable: boolean;
  qr_svg: string;
  ended: boolean;
  created_at: number;
  /** A practice class (simulated students): never published. */
  practice?: boolean;
}

export function startTeacher(root: HTMLElement): void {
  const me = sessions.teacher();
  if (!me) return void signIn(root);
  const classId = new URLSearchParams(location.search).get("class");
  if (classId) void openClass(root, me, classId);
  else void classList(root, me);
}

function shell(root: HTMLElement, rerender: () => void, main: HTMLElement[], extra: HTMLElement[] = []): void {
  replace(root, [
    h("header", { class: "topbar" }, [h("div", { class: "brand" }, [t("app.name")]), ...extra, h("div", { class: "spacer" }), langButton(rerender)]),
    h("main", { class: "center" }, main),
  ]);
}

async function signIn(root: HTMLElement): Promise<void> {
  let needsSetup = false;
  try {
    needsSetup = Boolean((await api("GET", "/api/setup")).needs_setup);
  } catch {
    needsSetup = false; // an older server without first-run setup
  }
  const render = (): void => {
    const name = h("input", { name: "name", autocomplete: "username", required: true, maxlength: "40", dir: "auto" });
    const password = h("input", { name: "password", type: "password", autocomplete: needsSetup ? "new-password" : "current-password", required: true });
    const password2 = h("input", { name: "password2", type: "password", autocomplete: "new-password", required: true });
    const message = h("p", { class: "error", role: "alert" });
    const form = h("form", { class: "card login-card" }, [
      h("h1", {}, [needsSetup ? t("setup.title") : t("login.title")]),
      needsSetup ? h("p", {}, [t("setup.intro")]) : null,
      field(t("login.name"), name),
      field(t("login.password"), password),
      needsSetup ? field(t("setup.password2"), password2) : null,
      message,
      h("button", { class: "btn primary big", type: "submit" }, [needsSetup ? t("setup.submit") : t("login.submit")]),
    ]);
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      message.textContent = "";
      try {
        if (needsSetup) {
          if (password.value !== password2.value) return void (message.textContent = t("setup.mismatch"));
          if (password.value.length < 8) return void (message.textContent = t("setup.short"));
          await api("POST", "/api/setup", { name: name.value, password: password.value });
        }
        const device = sessions.device(name.value);
        const body = await api("POST", "/api/login", { name: name.value, password: password.value, ...(device ? { device } : {}) });
        if (typeof body.device === "string") sessions.setDevice(body.teacher, body.device);
        const s: TeacherSession = { token: body.token, teacher: body.teacher };
        sessions.setTeacher(s);
        void classList(root, s);
      } catch (err) {
        message.textContent = err instanceof ApiError && err.status === 401 ? t("login.failed") : errorText(err);
      }
    });
    shell(root, render, [form, h("a", { class: "link", href: "/" }, [t("login.student")])]);
    name.focus();
  };
  render();
}

const CLASS_PAGE = 50;

async function classList(root: HTMLElement, me: TeacherSession): Promise<void> {
  history.replaceState(null, "", "/teacher");
  let classes: ClassInfo[] = [];
  // The cursor of the next (older) page; null once the oldest class is shown.
  let next: string | null = null;
  const loadPage = async (): Promise<boolean> => {
    const query = `?limit=${CLASS_PAGE}` + (next ? `&before=${encodeURIComponent(next)}` : "");
    try {
      const page = await api("GET", `/api/classes${query}`, undefined, me.token);
      classes = classes.concat(page.classes as ClassInfo[]);
      next = typeof page.next === "string" ? page.next : null;
      return true;
    } catch (err) {
      if (err instanceof ApiError && (err.status === 401 || err.status === 403)) {
        sessions.setTeacher(null);
        void signIn(root);
        return false;
      }
      toast(errorText(err), "error");
      return true;
    }
  };
  if (!(await loadPage())) return;
  const signOutEverywhere = async (): Promise<void> => {
    if (!(await confirmDialog(t("classes.signOutEverywhereConfirm")))) return;
    try {
      await api("POST", "/api/sign-out-everywhere", {}, me.token);
    } catch (err) {
      if (!(err instanceof ApiError && err.status === 401)) return void toast(errorText(err), "error");
    }
    sessions.setTeacher(null);
    toast(t("classes.signedOutEverywhere"));
    void signIn(root);
  };
  const render = (): void => {
    const title = h("input", { name: "title", required: true, maxlength: "200", dir: "auto" });
    const form = h("form", { class: "row create-class" }, [field(t("classes.newTitle"), title), h("button", { class: "btn primary big", type: "submit" }, [t("classes.create")])]);
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      try {
        const created: ClassInfo = await api("POST", "/api/classes", { title: title.value }, me.token);
        // A new class starts with its join screen: the lobby where students appear as they join.
        void openClass(root, me, created.class_id, created, true);
      } catch (err) {
        toast(errorText(err), "error");
      }
    });
    const list = classes.length
      ? h(
          "ul",
          { class: "class-list" },
          classes.map((c) =>
            h("li", { class: c.ended ? "ended" : "" }, [
              h("div", {}, [h("strong", { dir: "auto" }, [c.title]), c.practice ? h("span", { class: "badge practice", "data-practice": "" }, [t("practice.badge")]) : null, h("small", {}, [`${sep()}${t("classes.created", { date: fmtDate(c.created_at) })}`, c.ended ? `${sep()}${t("classes.ended")}` : ""])]),
              h("span", { class: "code", dir: "ltr" }, [c.join_code]),
              h("button", { class: "btn", type: "button", onclick: () => void openClass(root, me, c.class_id, c) }, [t("classes.open")]),
            ]),
          ),
        )
      : h("p", { class: "muted" }, [t("classes.none")]);
    const more = next
      ? h("button", { class: "btn", type: "button", onclick: async () => { if (await loadPage()) render(); } }, [t("classes.more")])
      : null;
    const practice = practiceButton(me, (created: ClassInfo) => void openClass(root, me, created.class_id, created));
    shell(root, render, [h("section", { class: "card wide" }, [h("h1", {}, [t("classes.title")]), form, practice, list, more])], [
      h("a", { class: "btn", href: "/lessons" }, [t("lessons.title")]),
      h("div", { class: "who" }, [me.teacher]),
      h("button", { class: "btn", type: "button", onclick: () => { sessions.setTeacher(null); void signIn(root); } }, [t("classes.signOut")]),
      h("button", { class: "btn", type: "button", onclick: () => void signOutEverywhere() }, [t("classes.signOutEverywhere")]),
    ]);
    title.focus();
  };
  render();
}

async function openClass(root: HTMLElement, me: TeacherSession, classId: string, known?: ClassInfo, lobby = false): Promise<void> {
  let info = known;
  try {
    info ??= await api("GET", `/api/classes/${encodeURIComponent(classId)}`, undefined, me.token);
  } catch {
    return classList(root, me);
  }
  const cls = info!;
  history.replaceState(null, "", `/teacher?class=${encodeURIComponent(cls.class_id)}`);
  const session = new ClassSession({ token: me.token, class_id: cls.class_id }, "teacher", (_m, error) => toast(errorText(error), "error"), (id) => assetUrl(cls.class_id, id, me.token));
  (window as any).takhti = { session, role: "teacher" };
  let board: BoardView | null = null;
  let tab: "students" | "pages" | "polls" | "quiz" = "students";
  const panel = h("div", { class: "panel-body", role: "tabpanel" });
  const bar = h("div", { class: "pagebar" });
  const tools = { tool: "pen", color: "#1a1a1a", width: 4 } as Pick<BoardView, "tool" | "color" | "width">;
  const voice = new VoiceRecorder({
    classId: cls.class_id,
    token: me.token,
    serverNow: () => session.conn.clock.serverNow(),
    onChange: () => renderVoice(),
    onError: (message) => toast(t("console.voiceRefused", { message }), "error"),
  });
  (window as any).takhti.voice = voice;
  // Only the button is redrawn as segments are saved: redrawing the console would disturb a
  // stroke being drawn.
  const voiceSlot = h("span", { class: "voice-slot" });
  const renderVoice = (): void => replace(voiceSlot, [voiceButton(voice, session.ended)]);
  // Raised hands show in the top bar whatever tab is open (or with the side panel folded away).
  const handSlot = h("span", { class: "hand-slot" });
  const renderHands = (): void => {
    const n = session.hands.length;
    replace(handSlot, n ? [h("button", { class: "btn hand-badge", type: "button", "data-hands": n, "aria-label": `${t("roster.hand")}: ${n}`, onclick: () => { tab = "students"; panelOpen = true; render(); } }, [`✋ ${fmtNumber(n)}`])] : []);
  };
  // On a small screen (1280x720 at 150%) the side panel starts folded to its tabs, so the board
  // gets the room; a tab opens it, the fold button closes it.
  let panelOpen = window.innerWidth >= 1500;

  const renderPanel = (): void => {
    if (!session.ready) return;
    const body =
      tab === "students" ? rosterPanel(session) : tab === "pages" ? pagesPanel(session, me, cls.class_id) : tab === "polls" ? pollsPanel(session, me, cls) : quizPanel(session, me, cls);
    replace(panel, [body]);
  };

  const render = (): void => {
    if (!board && session.ready) {
      board = new BoardView(session.board, session.conn, { zoomable: false, canDraw: () => !session.ended, imageUrl: (id) => assetUrl(cls.class_id, id, me.token) });
      Object.assign(board, tools);
      (window as any).takhti.board = board;
    }
    const tabs = (["students", "pages", "polls", "quiz"] as const).map((name) =>
      h("button", { class: "tab", role: "tab", type: "button", "aria-selected": String(tab === name && panelOpen), "data-tab": name, onclick: () => { tab = name; panelOpen = true; render(); } }, [
        t(`console.tab${name[0]!.toUpperCase()}${name.slice(1)}` as "console.tabStudents"),
      ]),
    );
    replace(root, [
      h("header", { class: "topbar" }, [
        h("button", { class: "btn", type: "button", onclick: () => { voice.stop(); session.conn.close(); void classList(root, me); } }, [`‹ ${t("console.classes")}`]),
        h("div", { class: "class-title", dir: "auto" }, [cls.title]),
        h("button", { class: "join-chip", type: "button", "aria-label": `${t("console.showCode")}: ${cls.join_code}`, onclick: () => void showJoin(cls, me, session) }, [
          h("small", {}, [t("console.joinCode")]),
          h("strong", { dir: "ltr" }, [cls.join_code]),
        ]),
        h("div", { class: "spacer" }),
        handSlot,
        statusPill(session),
        voiceSlot,
        langButton(render),
        h("button", { class: "btn danger", type: "button", disabled: session.ended, onclick: async () => {
          if (!(await confirmDialog(t("console.endConfirm")))) return;
          try {
            await api("POST", `/api/classes/${encodeURIComponent(cls.class_id)}/end`, {}, me.token);
          } catch (err) {
            toast(errorText(err), "error");
          }
        } }, [t("console.endClass")]),
      ]),
      h("main", { class: `console${session.ended ? " ended" : ""}${panelOpen ? "" : " panel-folded"}` }, [
        board ? h("aside", { class: "console-tools", inert: session.ended, "aria-disabled": session.ended ? "true" : null }, [toolbar(board, session, { teacher: true, onChange: () => Object.assign(tools, { tool: board!.tool, color: board!.color, width: board!.width }) })]) : h("aside", {}),
        h("section", { class: "console-board" }, [
          session.ended
            ? h("div", { class: "banner row" }, [
                h("span", {}, [t("console.ended")]),
                h("div", { class: "spacer" }),
                h("button", { class: "btn primary big", type: "button", "data-action": "lesson-details", onclick: () => void detailsDialog(cls.class_id, me) }, [t("details.open")]),
                h("a", { class: "btn big", href: "/lessons" }, [t("lessons.title")]),
              ])
            : null,
          cls.practice ? (session.ended ? debriefPanel(cls.class_id, me) : practicePanel(cls.class_id, me)) : null,
          board ? board.el : h("p", {}, [t("common.loading")]), bar]),
        h("aside", { class: "console-panel" }, [
          h("div", { class: "tabs", role: "tablist" }, [
            ...tabs,
            h("button", { class: "tab fold", type: "button", "data-action": "fold-panel", "aria-expanded": String(panelOpen), "aria-label": t(panelOpen ? "console.foldPanel" : "console.unfoldPanel"), onclick: () => { panelOpen = !panelOpen; render(); } }, [panelOpen ? "»" : "«"]),
          ]),
          panel,
        ]),
      ]),
    ]);
    renderVoice();
    renderHands();
    if (board) board.canvas.setAttribute("aria-label", t("board.label"));
    replace(bar, session.ready ? [pageBar(session)] : []);
    renderPanel();
  };

  tickCountdowns(session);
  if (lobby) void showJoin(cls, me, session);
  session.on((what) => {
    if (what === "status") return;
    if (what === "snapshot") {
      board?.destroy();
      board = null;
      return render();
    }
    board?.requestRender();
    if (what === "board") {
      replace(bar, [pageBar(session)]);
      if (tab === "pages" || tab === "students") renderPanel();
    } else if (what === "core") {
      renderHands();
      if (session.ended) render();
      else if (tab === "students") renderPanel();
    } else if ((what === "polls" && tab === "polls") || (what === "quiz" && tab === "quiz")) {
      renderPanel();
    }
  });
  render();
}

/** "Record voice" where the browser gives the microphone; elsewhere it says why, and what to use. */
function voiceButton(voice: VoiceRecorder, ended: boolean): HTMLElement {
  const support = voiceSupport();
  if (support !== "ok") {
    const why = t(support === "insecure" ? "console.voiceInsecure" : "console.voiceUnsupported");
    return h("button", { class: "btn voice", type: "button", "aria-disabled": "true", "data-voice": support, title: why, onclick: () => toast(why, "error") }, [t("console.voiceRecord")]);
  }
  if (voice.recording) {
    return h("button", { class: "btn voice recording", type: "button", "aria-pressed": "true", "data-voice": "recording", title: t("console.voiceRecording", { n: voice.uploaded }), onclick: () => voice.stop() }, [
      `● ${t("console.voiceStop")}`,
    ]);
  }
  return h("button", { class: "btn voice", type: "button", "aria-pressed": "false", "data-voice": "ready", disabled: ended, onclick: async () => {
    try {
      await voice.start();
    } catch (err) {
      toast(t("console.voiceDenied", { message: (err as Error).message }), "error");
    }
  } }, [t("console.voiceRecord")]);
}

/**
 * The join code, link and QR code, full screen, readable from the back of the room; a lobby: the
 * number and names of the students who have joined, updated as they join.
 */
async function showJoin(cls: ClassInfo, me: TeacherSession, session: ClassSession): Promise<void> {
  const img = h("img", { class: "qr", alt: t("qr.alt") });
  const lobby = h("section", { class: "lobby", "aria-live": "polite" });
  const renderLobby = (): void => {
    const names = [...session.students.values()].map((s) => s.name);
    replace(lobby, [
      h("p", { class: "lobby-count", "data-joined": names.length }, [names.length ? t("lobby.count", { n: names.length }) : t("lobby.none")]),
      h("ul", { class: "lobby-names" }, names.map((n) => h("li", { dir: "auto" }, [n]))),
    ]);
  };
  renderLobby();
  const off = session.on((what) => {
    if (what === "core" || what === "snapshot") renderLobby();
  });
  const dialog = h("dialog", { class: "join-screen", "aria-label": t("console.showCode") }, [
    h("div", { class: "join-grid" }, [
      h("div", {}, [
        h("p", {}, [t("qr.goTo")]),
        h("p", { class: "join-url", dir: "ltr" }, [cls.join_url.replace(/\/join\/.*/, "")]),
        cls.join_reachable === false ? h("p", { class: "join-warning", role: "alert", "data-join-unreachable": "" }, [t("qr.unreachable")]) : null,
        h("p", {}, [t("qr.enterCode")]),
        h("p", { class: "join-code-big", dir: "ltr" }, [cls.join_code]),
        h("p", {}, [t("qr.scan")]),
      ]),
      img,
    ]),
    lobby,
    h("button", { class: "btn big", type: "button", onclick: () => dialog.close() }, [t("common.close")]),
  ]);
  dialog.addEventListener("close", () => {
    off();
    dialog.remove();
  });
  document.body.append(dialog);
  dialog.showModal();
  try {
    img.src = await blobUrl(cls.qr_svg, me.token);
  } catch {
    img.remove();
  }
}
