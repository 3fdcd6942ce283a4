/** Pieces both apps use: the connection status line and the language switch. */
import { h } from "./dom";
import { applyLang, errorText, getLang, sep, t } from "./i18n";
import type { ClassSession } from "./session";

export function statusPill(session: ClassSession): HTMLElement {
  const el = h("div", { class: "status", role: "status", "aria-live": "polite", "data-status": session.status });
  const update = (): void => {
    el.dataset.status = session.status;
    const text =
      session.status === "refused"
        ? t("status.refused", { message: session.statusError ? errorText(session.statusError) : "" })
        : t(`status.${session.status}` as "status.online");
    const pending = session.pending > 0 && session.status !== "online" ? `${sep()}${t("status.pending", { n: session.pending })}` : "";
    el.replaceChildren(h("span", { class: "dot", "aria-hidden": "true" }), text + pending);
  };
  update();
  let seen = false;
  const off = session.on((what) => {
    // Drop the listener once this pill has left the page (the view was rebuilt).
    if (el.isConnected) seen = true;
    else if (seen) return off();
    if (what === "status") update();
  });
  return el;
}

export function langButton(rerender: () => void, options: { font?: boolean } = {}): HTMLElement {
  return h(
    "button",
    {
      class: "btn lang",
      type: "button",
      lang: getLang() === "ur" ? "en" : "ur",
      "aria-label": t("lang.switchLabel"),
      onclick: async () => {
        await applyLang(getLang() === "ur" ? "en" : "ur", options);
        rerender();
      },
    },
    [t("lang.switch")],
  );
}

export function field(label: string, input: HTMLElement, hint?: string): HTMLElement {
  const id = input.id || `f-${Math.random().toString(36).slice(2, 8)}`;
  input.id = id;
  return h("div", { class: "field" }, [h("label", { for: id }, [label]), input, hint ? h("small", { class: "hint" }, [hint]) : null]);
}

export function confirmDialog(message: string): Promise<boolean> {
  return new Promise((resolve) => {
    const dialog = h("dialog", { class: "confirm", "aria-label": message });
    const done = (v: boolean): void => {
      dialog.close();
      dialog.remove();
      resolve(v);
    };
    dialog.append(
      h("p", {}, [message]),
      h("div", { class: "row" }, [
        h("button", { class: "btn danger", type: "button", onclick: () => done(true) }, [t("common.yes")]),
        h("button", { class: "btn", type: "button", onclick: () => done(false), autofocus: true }, [t("common.no")]),
      ]),
    );
    dialog.addEventListener("cancel", () => done(false));
    document.body.append(dialog);
    dialog.showModal();
  });
}
