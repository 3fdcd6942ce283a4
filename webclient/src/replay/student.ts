/** /replay/{class_id}: a student watches a lesson the teacher shared (with the token they joined with). */
import { sessions, type StudentSession } from "../api";
import { langButton } from "../common";
import { h, replace } from "../dom";
import { t } from "../i18n";
import { startReplay } from "./page";

function findSession(classId: string): StudentSession | null {
  const last = sessions.lastStudent();
  if (last?.class_id === classId) return last;
  for (let i = 0; i < localStorage.length; i++) {
    const key = localStorage.key(i) ?? "";
    if (!key.startsWith("takhti.student.") || key === "takhti.student.last") continue;
    const found = sessions.student(key.slice("takhti.student.".length));
    if (found?.class_id === classId) return found;
  }
  return null;
}

export function startStudentReplay(root: HTMLElement, classId: string): void {
  const render = (): void => {
    const slot = h("main", { class: "center" });
    replace(root, [
      h("header", { class: "topbar" }, [h("div", { class: "brand" }, [t("app.name")]), h("div", { class: "spacer" }), langButton(render)]),
      slot,
    ]);
    const saved = findSession(classId);
    if (!saved) {
      replace(slot, [h("p", { class: "error", role: "alert" }, [t("replay.forbidden")])]);
      return;
    }
    void startReplay(slot, { classId, token: saved.token, me: { role: "student", id: saved.student_id } });
  };
  render();
}
