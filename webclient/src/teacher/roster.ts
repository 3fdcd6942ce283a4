/** Students with live connection state, raised hands, and drawing rights; rename or remove one. */
import { confirmDialog } from "../common";
import { h, toast } from "../dom";
import { errorText, t } from "../i18n";
import { newId } from "../net/types";
import type { ClassSession } from "../session";

interface Named {
  student_id: string;
  name: string;
}

/** Ask for a student's new name; the server checks it (NAME_TAKEN, INVALID_PAYLOAD) and says why. */
function renameDialog(session: ClassSession, student: Named): void {
  const input = h("input", { type: "text", name: "name", dir: "auto", maxlength: 40, required: true, value: student.name, autocomplete: "off" }) as HTMLInputElement;
  const problem = h("p", { class: "form-error", role: "alert" });
  const dialog = h("dialog", { class: "rename-student", "aria-label": t("roster.renameOf", { name: student.name }) });
  // One key per dialog: pressing Save again after a lost answer is the same request.
  const clientId = newId("rename");
  const form = h("form", {}, [
    h("h2", {}, [t("roster.renameOf", { name: student.name })]),
    h("label", { class: "field" }, [h("span", {}, [t("roster.newName")]), input]),
    problem,
    h("div", { class: "row" }, [
      h("button", { class: "btn primary big", type: "submit", "data-action": "save-name" }, [t("roster.save")]),
      h("button", { class: "btn big", type: "button", onclick: () => dialog.close() }, [t("common.cancel")]),
    ]),
  ]);
  let sent = "";
  let key = clientId;
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    if (sent && sent !== input.value) key = newId("rename");
    sent = input.value;
    const ack = await session.conn.send("student_rename", { student_id: student.student_id, name: input.value, client_id: key });
    if (!ack.ok) {
      problem.textContent = errorText(ack.error);
      input.focus();
      return;
    }
    dialog.close();
  });
  dialog.append(form);
  dialog.addEventListener("close", () => dialog.remove());
  document.body.append(dialog);
  dialog.showModal();
  input.select();
}

async function removeStudent(session: ClassSession, student: Named): Promise<void> {
  if (!(await confirmDialog(t("roster.removeConfirm", { name: student.name })))) return;
  const ack = await session.conn.send("student_remove", { student_id: student.student_id });
  if (!ack.ok) toast(errorText(ack.error), "error");
}

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
                h("div", { class: "student-actions" }, [
                  h("button", { class: "btn", type: "button", "data-action": "rename-student", "aria-label": t("roster.renameOf", { name: s.name }), onclick: () => renameDialog(session, s) }, [t("roster.rename")]),
                  h("button", { class: "btn danger", type: "button", "data-action": "remove-student", "aria-label": t("roster.removeOf", { name: s.name }), onclick: () => void removeStudent(session, s) }, [t("roster.remove")]),
                ]),
              ]);
            }),
        ),
  ]);
}
