/** Students with live connection state, raised hands, and drawing rights. */
import { h } from "../dom";
import { t } from "../i18n";
import { newId } from "../net/types";
import type { ClassSession } from "../session";

export function rosterPanel(session: ClassSession): HTMLElement {
  const students = [...session.students.values()];
  const online = students.filter((s) => s.online).length;
  const rights = session.board.rights;
  const ink = h("select", { "aria-label": t("roster.inkClass"), onchange: () => undefined }, [
    h("option", { value: "class", selected: rights.ink === "class" }, [t("roster.inkClass")]),
    h("option", { value: "teacher", selected: rights.ink === "teacher" }, [t("roster.inkTeacher")]),
  ]);
  ink.addEventListener("change", () => {
    if (rights.mode !== "none") void session.conn.send("board_allow_drawing", { ink: ink.value, ...(rights.mode === "chosen" ? { students: [...rights.allowed] } : {}) });
  });
  const hands = new Set(session.hands);
  return h("div", { class: "roster" }, [
    h("p", { class: "muted" }, [t("roster.count", { n: students.length, m: online })]),
    h("div", { class: "row wrap" }, [
      h("button", { class: "btn", type: "button", "aria-pressed": String(rights.mode === "all"), "data-action": "allow-all", onclick: () => void session.conn.send("board_allow_drawing", { ink: ink.value }) }, [t("roster.allowAll")]),
      h("button", { class: "btn", type: "button", "aria-pressed": String(rights.mode === "none"), "data-action": "revoke-all", onclick: () => void session.conn.send("board_revoke_drawing", {}) }, [t("roster.revokeAll")]),
      ink,
    ]),
    students.length === 0
      ? h("p", { class: "muted" }, [t("roster.none")])
      : h(
          "ul",
          { class: "student-list" },
          students
            .sort((a, b) => Number(hands.has(b.student_id)) - Number(hands.has(a.student_id)) || a.name.localeCompare(b.name))
            .map((s) => {
              const may = session.board.mayDraw(s.student_id);
              return h("li", { "data-student": s.student_id, "data-online": String(Boolean(s.online)) }, [
                h("span", { class: `presence ${s.online ? "on" : "off"}`, "aria-hidden": "true" }, [s.online ? "●" : "○"]),
                h("span", { class: "name", dir: "auto" }, [s.name]),
                h("span", { class: "sr-only" }, [s.online ? t("roster.online") : t("roster.offline")]),
                hands.has(s.student_id)
                  ? h("button", { class: "btn hand-up", type: "button", "aria-label": `${t("roster.lowerHand")}: ${s.name}`, onclick: () => void session.conn.send("hand_lower", { student_id: s.student_id, client_id: newId("lower") }) }, ["✋ ", t("roster.hand")])
                  : null,
                h("label", { class: "check small" }, [
                  h("input", {
                    type: "checkbox",
                    checked: may,
                    "aria-label": may ? t("roster.revoke", { name: s.name }) : t("roster.allow", { name: s.name }),
                    onchange: (e: Event) => {
                      const on = (e.target as HTMLInputElement).checked;
                      void session.conn.send(on ? "board_allow_drawing" : "board_revoke_drawing", on ? { students: [s.student_id], ink: ink.value } : { students: [s.student_id] });
                    },
                  }),
                  h("span", { "aria-hidden": "true" }, [t("roster.mayDraw")]),
                ]),
              ]);
            }),
        ),
  ]);
}
