/** Page operations: switch, add, reorder, delete, background. */
import { uploadImage, type TeacherSession, ServerError } from "../api";
import type { Background } from "../board/model";
import { confirmDialog } from "../common";
import { h, toast } from "../dom";
import { fmtNumber, t, sep, errorText } from "../i18n";
import { newId } from "../net/types";
import type { ClassSession } from "../session";

const BACKGROUNDS: Background["kind"][] = ["blank", "ruled", "grid"];

/** Under the board: previous, "page n of m", next, add. */
export function pageBar(session: ClassSession): HTMLElement {
  const b = session.board;
  const i = b.order.indexOf(b.current);
  const go = (index: number): void => {
    const id = b.order[index];
    if (id) void session.conn.send("page_switch", { page_id: id });
  };
  return h("div", { class: "row pagebar-row" }, [
    h("button", { class: "btn", type: "button", disabled: i <= 0, "aria-label": t("pages.page", { n: i }), onclick: () => go(i - 1) }, ["‹"]),
    h("span", { class: "page-label", "aria-live": "polite" }, [t("board.page", { n: i + 1, m: b.order.length })]),
    h("button", { class: "btn", type: "button", disabled: i >= b.order.length - 1, "aria-label": t("pages.page", { n: i + 2 }), onclick: () => go(i + 1) }, ["›"]),
    h("button", { class: "btn primary", type: "button", "data-action": "add-page", onclick: () => void session.conn.send("page_add", { page_id: newId("p"), background: { kind: "blank" }, switch: true }) }, [`+ ${t("pages.add")}`]),
  ]);
}

export function pagesPanel(session: ClassSession, me: TeacherSession, classId: string): HTMLElement {
  const b = session.board;
  const file = h("input", { type: "file", accept: "image/png,image/jpeg,image/webp", id: "bg-image-file" });
  file.style.cssText = "position:absolute;opacity:0;width:1px;height:1px";
  file.addEventListener("change", async () => {
    const f = file.files?.[0];
    if (!f) return;
    const page = b.current;
    toast(t("pages.uploading"));
    try {
      const image = await uploadImage(classId, f, me.token);
      const ack = await session.conn.send("page_set_background", { page_id: page, background: { kind: "image", image } });
      if (!ack.ok) throw new ServerError(ack.error.code, ack.error.message, ack.error.field);
      toast(t("pages.pictureSet"));
    } catch (err) {
      toast(errorText(err), "error");
    }
    file.value = "";
  });
  const move = (from: number, to: number): void => {
    const order = [...b.order];
    const [id] = order.splice(from, 1);
    order.splice(to, 0, id!);
    void session.conn.send("page_reorder", { order });
  };
  return h("div", { class: "pages" }, [
    h(
      "ol",
      { class: "page-list" },
      b.order.map((id, i) => {
        const page = b.pages.get(id)!;
        const n = i + 1;
        const bg = h(
          "select",
          { "aria-label": `${t("pages.background")}${sep()}${t("pages.page", { n })}`, onchange: (e: Event) => void session.conn.send("page_set_background", { page_id: id, background: { kind: (e.target as HTMLSelectElement).value } }) },
          // "Picture" is listed only while the page has one (a new picture comes from the upload button).
          (page.background.kind === "image" ? [...BACKGROUNDS, "image" as const] : BACKGROUNDS).map((kind) =>
            h("option", { value: kind, selected: page.background.kind === kind, disabled: kind === "image" }, [t(`bg.${kind}`)]),
          ),
        );
        return h("li", { class: id === b.current ? "current" : "", "data-page": id }, [
          h("button", { class: "btn page-btn", type: "button", "aria-current": id === b.current ? "page" : null, onclick: () => void session.conn.send("page_switch", { page_id: id }) }, [t("pages.page", { n })]),
          h("small", {}, [fmtNumber(b.visibleItems(id).length)]),
          bg,
          h("button", { class: "btn icon", type: "button", disabled: i === 0, "aria-label": t("pages.earlier", { n }), onclick: () => move(i, i - 1) }, ["▲"]),
          h("button", { class: "btn icon", type: "button", disabled: i === b.order.length - 1, "aria-label": t("pages.later", { n }), onclick: () => move(i, i + 1) }, ["▼"]),
          h("button", { class: "btn icon danger", type: "button", disabled: b.order.length === 1, "aria-label": t("pages.delete", { n }), onclick: async () => {
            if (await confirmDialog(t("pages.deleteConfirm", { n }))) void session.conn.send("page_delete", { page_id: id });
          } }, ["✕"]),
        ]);
      }),
    ),
    h("div", { class: "row" }, BACKGROUNDS.map((kind) =>
      h("button", { class: "btn", type: "button", onclick: () => void session.conn.send("page_add", { page_id: newId("p"), background: { kind }, switch: true }) }, [`+ ${t(`bg.${kind}`)}`]),
    )),
    h("div", { class: "row bg-upload" }, [h("label", { for: "bg-image-file", class: "btn file-btn" }, [t("pages.uploadPicture")]), file]),
  ]);
}
