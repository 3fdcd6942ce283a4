/** The student's first screen: join with a code and a name. Small on purpose: it is usable
 * before the board, socket and drawing code (student/app.ts) have arrived over a weak link. */
import { ApiError, api, normalizeCode, sessions, type StudentSession } from "../api";
import { field, langButton } from "../common";
import { h, replace } from "../dom";
import { errorText, t } from "../i18n";

const loadLive = () => import("./app");

async function goLive(root: HTMLElement, saved: StudentSession): Promise<void> {
  const { live } = await loadLive();
  live(root, saved);
}

export function startStudent(root: HTMLElement, codeFromPath: string): void {
  const code = normalizeCode(codeFromPath);
  const saved = code ? sessions.student(code) : sessions.lastStudent();
  if (saved) void goLive(root, saved);
  else joinForm(root, codeFromPath);
}

export function joinForm(root: HTMLElement, code: string, error?: string): void {
  const render = (): void => {
    const codeInput = h("input", { name: "code", value: code, autocomplete: "off", autocapitalize: "characters", spellcheck: "false", required: true, maxlength: "20", inputmode: "text", dir: "ltr" });
    const nameInput = h("input", { name: "name", autocomplete: "nickname", required: true, maxlength: "60", dir: "auto" });
    const message = h("p", { class: "error", role: "alert" }, [error ?? ""]);
    const submit = h("button", { class: "btn primary big", type: "submit" }, [t("join.submit")]);
    const form = h("form", { class: "card join-card", "aria-labelledby": "join-title" }, [
      h("h1", { id: "join-title" }, [t("join.title")]),
      field(t("join.code"), codeInput, t("join.codeHint")),
      field(t("join.name"), nameInput),
      message,
      submit,
    ]);
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      submit.disabled = true;
      message.textContent = "";
      try {
        const body = await api("POST", "/api/join", { join_code: codeInput.value, name: nameInput.value });
        const key = normalizeCode(codeInput.value);
        const s: StudentSession = { token: body.token, class_id: body.class_id, student_id: body.student_id, name: body.name, title: body.title, code: key };
        sessions.setStudent(key, s);
        history.replaceState(null, "", `/join/${encodeURIComponent(codeInput.value.trim())}`);
        await goLive(root, s);
      } catch (err) {
        const codeKey = err instanceof ApiError ? `join.${err.body.code}` : "";
        const known = ["join.NOT_FOUND", "join.CLASS_ENDED", "join.RATE_LIMITED", "join.INVALID_PAYLOAD"];
        message.textContent = known.includes(codeKey) ? t(codeKey as "join.NOT_FOUND") : errorText(err);
        submit.disabled = false;
      }
    });
    replace(root, [
      h("header", { class: "topbar" }, [h("div", { class: "brand" }, [t("app.name")]), h("div", { class: "spacer" }), langButton(render)]),
      h("main", { class: "center" }, [form, h("a", { class: "link", href: "/teacher" }, [t("join.teacher")])]),
    ]);
    (code ? nameInput : codeInput).focus();
  };
  render();
  // The form is usable now; fetch the live app while the student types.
  void loadLive().catch(() => undefined);
}
