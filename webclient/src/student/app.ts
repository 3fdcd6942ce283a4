/** The live student app: follow the board, answer polls and quizzes (loaded after the join form). */
import { assetUrl, sessions, type StudentSession } from "../api";
import { joinForm } from "./join";
import { BoardView, type Tool } from "../board/view";
import { h, replace, toast } from "../dom";
import { t, errorText } from "../i18n";
import { langButton, statusPill } from "../common";
import { newId } from "../net/types";
import { tallyChart, choiceLabels, type Poll } from "../polls";
import { describeCorrect, leaderboardList, optionLabels, podium, questionPicture, renderCountdown, tickCountdowns, type Quiz } from "../quiz";
import { type CameraView, ClassSession } from "../session";
import { toolbar } from "../toolbar";

export function live(root: HTMLElement, saved: StudentSession): void {
  const session = new ClassSession({ token: saved.token }, "student", (_m, error) => toast(errorText(error), "error"), (id) => assetUrl(saved.class_id, id, saved.token));
  let board: BoardView | null = null;
  const tools = { tool: "pen" as Tool, color: "#1a1a1a", width: 4 };
  const activity = h("section", { class: "activity", "aria-live": "polite" });
  const drawBar = h("div", { class: "drawbar" });
  let handBtn: HTMLButtonElement | null = null;
  const pageLabel = h("span", { class: "page-label" });
  const zoomBtn = h("button", { class: "btn small", type: "button", hidden: true, onclick: () => board?.resetZoom() }, [t("board.resetZoom")]);
  (window as any).takhti = { session, role: "student" };

  const render = (): void => {
    handBtn = h("button", { class: "btn hand", type: "button", "aria-pressed": "false", onclick: () => toggleHand() }, [t("student.raise")]);
    zoomBtn.textContent = t("board.resetZoom");
    replace(root, [
      h("header", { class: "topbar" }, [
        h("div", { class: "brand" }, [t("app.name")]),
        h("div", { class: "class-title" }, [saved.title]),
        h("div", { class: "who", dir: "auto" }, [t("student.welcome", { name: (session.ready && session.you.name) || saved.name })]),
        h("div", { class: "spacer" }),
        statusPill(session),
        handBtn,
        langButton(render),
      ]),
      h("main", { class: "student-main" }, [
        h("div", { class: "board-area" }, [board ? board.el : h("p", {}, [t("common.loading")]), h("div", { class: "board-foot" }, [pageLabel, zoomBtn])]),
        drawBar,
        activity,
      ]),
    ]);
    if (board) board.canvas.setAttribute("aria-label", t("board.label"));
    update("all");
  };

  const toggleHand = (): void => {
    const raised = session.hands.includes(session.you.id);
    void session.conn.send("hand_raise", { raised: !raised, client_id: newId("hand") });
  };

  const update = (what: string): void => {
    if (!session.ready) return;
    if (what === "snapshot" || !board) {
      board?.destroy();
      board = new BoardView(session.board, session.conn, {
        zoomable: true,
        canDraw: () => session.board.mayDraw() && !session.ended,
        imageUrl: (id) => assetUrl(saved.class_id, id, saved.token),
        onZoom: () => (zoomBtn.hidden = board!.zoom.scale <= 1.001),
      });
      Object.assign(board, tools);
      (window as any).takhti.board = board;
      render();
      return;
    }
    board.requestRender();
    const n = session.board.order.indexOf(session.board.current) + 1;
    pageLabel.textContent = t("board.page", { n, m: session.board.order.length });
    const raised = session.hands.includes(session.you.id);
    if (handBtn) {
      handBtn.textContent = raised ? t("student.lower") : t("student.raise");
      handBtn.setAttribute("aria-pressed", String(raised));
      handBtn.disabled = session.ended;
    }
    const may = session.board.mayDraw() && !session.ended;
    drawBar.hidden = !may;
    if (may && (what === "all" || what === "board" || !drawBar.hasChildNodes())) {
      replace(drawBar, [h("p", { class: "note" }, [t("student.mayDraw")]), toolbar(board, session, { teacher: false, onChange: () => Object.assign(tools, { tool: board!.tool, color: board!.color, width: board!.width }) })]);
    }
    if (what !== "board" || session.ended) renderActivity();
  };

  const renderActivity = (): void => {
    if (session.ended) {
      const replay = `/replay/${encodeURIComponent(saved.class_id)}`;
      activity.removeAttribute("data-idle");
      replace(activity, [h("div", { class: "card ended" }, [h("h2", {}, [t("student.ended")]), h("a", { class: "btn big", href: replay }, [t("replay.watch")])])]);
      return;
    }
    const quiz = session.quizzes.active();
    const poll = session.polls.current();
    const cards: HTMLElement[] = [];
    if (quiz) cards.push(quizCard(session, quiz));
    if (poll) cards.push(pollCard(session, poll));
    if (session.camera) cards.push(cameraCard(session.camera, saved));
    if (!cards.length) cards.push(h("p", { class: "muted" }, [t("student.waiting")]), h("p", { class: "hint turn-hint" }, [t("student.turn")]));
    // Nothing to answer: in landscape the board takes the whole width (style.css).
    activity.toggleAttribute("data-idle", !quiz && !poll && !session.camera);
    // Keep a half-typed answer: rebuild only when the question itself changed.
    const key = cards.map((c) => c.dataset.key ?? "").join("|");
    if (activity.dataset.key === key && key.includes("input")) return;
    activity.dataset.key = key;
    replace(activity, cards);
  };

  session.on((what) => {
    if (what === "status") {
      if (session.status === "refused") {
        sessions.setStudent(saved.code, null);
        session.conn.close();
        joinForm(root, saved.code, session.statusError ? errorText(session.statusError) : undefined);
      }
      return;
    }
    if (what === "you") {
      // The teacher renamed this student: the new name here, and kept for the next visit.
      saved.name = session.you.name ?? saved.name;
      sessions.setStudent(saved.code, saved);
      toast(t("student.renamed", { name: saved.name }));
      render();
      return;
    }
    update(what);
  });
  // Tick countdowns.
  tickCountdowns(session);
  render();
}

/** The physical board as the classroom camera sees it (cleaned and straightened). */
function cameraCard(view: CameraView, saved: StudentSession): HTMLElement {
  const src = `${assetUrl(saved.class_id, view.asset_id, saved.token)}&v=${encodeURIComponent(view.snapshot_id)}`;
  const card = h("figure", { class: "card camera-card" }, [
    h("img", { src, alt: t("camera.alt"), width: String(view.width), height: String(view.height), loading: "lazy", style: "max-width:100%;height:auto" }),
    h("figcaption", { class: "muted" }, [t("camera.title")]),
  ]);
  card.dataset.key = `camera:${view.snapshot_id}`;
  return card;
}

function pollCard(session: ClassSession, poll: Poll): HTMLElement {
  const card = h("div", { class: "card poll-card", "data-poll": poll.poll_id });
  card.dataset.key = `poll:${poll.poll_id}:${poll.status}:${poll.results_shown}:${poll.my_vote ? "v" : "input"}`;
  card.append(h("h2", { dir: "auto" }, [poll.question]));
  if (poll.results_shown) {
    card.append(h("h3", {}, [t("poll.results")]), tallyChart(poll, poll.results));
    return card;
  }
  if (poll.status !== "open") return card;
  const voteId = poll.my_vote?.vote_id ? newId("v") : newId("v");
  const send = async (answer: Record<string, unknown>): Promise<void> => {
    status.textContent = t("poll.sending");
    const ack = await session.conn.send("poll_vote", { poll_id: poll.poll_id, vote_id: voteId, ...answer });
    status.textContent = ack.ok ? t("poll.voted") : errorText(ack.error);
  };
  const status = h("p", { class: "note", role: "status" }, [poll.my_vote ? t("poll.voted") : ""]);
  const mine = poll.my_vote?.answer;
  if (poll.kind === "single" || poll.kind === "yes_no" || poll.kind === "rating") {
    const labels = choiceLabels(poll);
    card.append(
      h(
        "div",
        { class: "choices", role: "group", "aria-label": poll.question },
        labels.map((label, i) => {
          const value = poll.kind === "rating" ? i + 1 : i;
          return h("button", { class: "btn choice", type: "button", "aria-pressed": String(mine === value), onclick: (e: Event) => {
            for (const b of card.querySelectorAll(".choice")) b.setAttribute("aria-pressed", "false");
            (e.currentTarget as HTMLElement).setAttribute("aria-pressed", "true");
            void send(poll.kind === "rating" ? { rating: value } : { option: value });
          } }, [label]);
        }),
      ),
    );
    if (poll.kind === "rating") card.append(h("p", { class: "hint rating-ends" }, [t("poll.ratingEnds", { min: 1, max: poll.scale_max })]));
  } else if (poll.kind === "multiple") {
    const boxes = poll.options.map((label, i) => {
      const input = h("input", { type: "checkbox", value: i, checked: Array.isArray(mine) && mine.includes(i) });
      return h("label", { class: "check" }, [input, h("span", { dir: "auto" }, [label])]);
    });
    card.append(h("div", { class: "choices" }, boxes), h("button", { class: "btn primary", type: "button", onclick: () => {
      const picked = boxes.map((b, i) => ((b.firstChild as HTMLInputElement).checked ? i : -1)).filter((i) => i >= 0);
      if (picked.length) void send({ options: picked });
    } }, [t("poll.vote")]));
  } else {
    const input = h("input", { dir: "auto", maxlength: poll.kind === "word_cloud" ? "100" : "500", "aria-label": t("poll.text") });
    const form = h("form", { class: "row" }, [input, h("button", { class: "btn primary", type: "submit" }, [t("poll.vote")])]);
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      const value = input.value.trim();
      if (!value) return;
      if (poll.kind === "word_cloud") {
        // Extra words are refused with a message (the server refuses them too), never dropped.
        const words = value.split(/\s+/);
        if (words.length > poll.max_words) return void (status.textContent = t("poll.tooManyWords", { n: poll.max_words, m: words.length }));
        void send({ words });
      }
      else void send({ text: value });
    });
    card.append(poll.kind === "word_cloud" ? h("p", { class: "hint" }, [t("poll.words", { n: poll.max_words })]) : null as never, form);
  }
  card.append(status);
  return card;
}

function quizCard(session: ClassSession, quiz: Quiz): HTMLElement {
  const card = h("div", { class: "card quiz-card", "data-quiz": quiz.quiz_id });
  const q = quiz.current;
  const own = q ? quiz.my_answers?.find((a) => a.question === q.question) : undefined;
  const result = q ? quiz.results?.[q.question] : undefined;
  card.dataset.key = `quiz:${quiz.quiz_id}:${quiz.status}:${q?.question}:${q?.status}:${q && session.quizzes.myAnswer(quiz, q.question) ? "a" : "input"}:${quiz.leaderboard?.top.length}:${quiz.me?.score}:${quiz.me?.rank}:${own?.correct}:${result?.answered}`;
  card.append(h("h2", { dir: "auto" }, [quiz.title]));
  if (quiz.me && quiz.me.rank !== null) {
    card.append(h("p", { class: "my-score" }, [t("quiz.yourScore", { score: quiz.me.score, rank: quiz.me.rank, players: quiz.me.players })]));
  }
  if (quiz.status === "ended" && quiz.final) {
    card.append(h("h3", {}, [t("quiz.podium")]), podium(quiz.final.podium));
    return card;
  }
  if (!q || q.status === "skipped") {
    card.append(h("p", {}, [t("quiz.waiting")]));
    return card;
  }
  card.append(h("p", { class: "muted" }, [t("quiz.questionOf", { i: q.question + 1, n: quiz.questions })]), h("h3", { dir: "auto", class: "question" }, [q.text]));
  const picture = questionPicture(session, q);
  if (picture) card.append(picture);
  const mine = session.quizzes.myAnswer(quiz, q.question);
  if (q.status === "open") {
    if (q.deadline_ms !== null) {
      const timer = h("p", { class: "timer", "data-deadline": q.deadline_ms, "data-total": Math.max(1, q.deadline_ms - (session.conn.clock.serverNow() - 0)) });
      card.append(timer, h("div", { class: "time-bar", "aria-hidden": "true" }));
      renderCountdown(timer, session);
    }
    if (mine) {
      card.append(h("p", { class: "note" }, [t("quiz.sent")]));
      return card;
    }
    const answerId = newId("a");
    const status = h("p", { class: "note", role: "status" });
    const send = async (answer: Record<string, unknown>): Promise<void> => {
      for (const b of card.querySelectorAll("button")) (b as HTMLButtonElement).disabled = true;
      status.textContent = t("poll.sending");
      const ack = await session.conn.send("quiz_answer", { quiz_id: quiz.quiz_id, question: q.question, answer_id: answerId, ...answer });
      status.textContent = ack.ok ? t("quiz.sent") : errorText(ack.error);
    };
    if (q.type === "single" || q.type === "true_false") {
      card.append(h("div", { class: "choices quiz-choices" }, optionLabels(q).map((label, i) => h("button", { class: `btn choice shape-${i % 4}`, type: "button", onclick: () => void send({ option: i }) }, [h("span", { class: "shape", "aria-hidden": "true" }), label]))));
    } else if (q.type === "multiple") {
      const boxes = q.options.map((label, i) => h("label", { class: "check" }, [h("input", { type: "checkbox", value: i }), h("span", { dir: "auto" }, [label])]));
      card.append(h("div", { class: "choices" }, boxes), h("button", { class: "btn primary", type: "button", onclick: () => {
        const picked = boxes.map((b, i) => ((b.firstChild as HTMLInputElement).checked ? i : -1)).filter((i) => i >= 0);
        if (picked.length) void send({ options: picked });
      } }, [t("quiz.submit")]));
    } else {
      const input = h("input", { dir: "auto", inputmode: q.type === "numeric" ? "decimal" : "text", "aria-label": q.type === "numeric" ? t("quiz.number") : t("quiz.text") });
      const form = h("form", { class: "row" }, [input, h("button", { class: "btn primary", type: "submit" }, [t("quiz.submit")])]);
      form.addEventListener("submit", (e) => {
        e.preventDefault();
        if (input.value.trim()) void send({ text: input.value.trim() });
      });
      card.append(form);
    }
    card.append(status);
  } else {
    card.append(h("p", { class: "reveal" }, [t("quiz.correct", { answer: describeCorrect(q) })]));
    if (own?.correct !== undefined) {
      const points = own.points ?? result?.points ?? 0;
      card.append(h("p", { class: own.correct ? "right" : "wrong", "data-result": own.correct ? "right" : "wrong" }, [own.correct ? t("quiz.right") : t("quiz.wrong"), " ", t("quiz.gained", { n: points })]));
    } else if (result && !result.answered) {
      card.append(h("p", { class: "wrong", "data-result": "unanswered" }, [t("quiz.unanswered")]));
    }
    if (quiz.leaderboard) card.append(h("h3", {}, [t("quiz.leaderboard")]), leaderboardList(quiz.leaderboard.top, session.you.id));
  }
  return card;
}
