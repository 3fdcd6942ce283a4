/** The drawing toolbar: tools, colours, widths, undo/redo (and clear page for the teacher). */
import type { BoardView, Tool } from "./board/view";
import { confirmDialog } from "./common";
import { h } from "./dom";
import { t, type Key } from "./i18n";
import { newId } from "./net/types";
import type { ClassSession } from "./session";

const TOOLS: [Tool, string][] = [
  ["pen", "✎"],
  ["highlighter", "▌"],
  ["eraser", "⌫"],
  ["line", "╱"],
  ["arrow", "➔"],
  ["rectangle", "▭"],
  ["ellipse", "◯"],
  ["text", "T"],
];

export const COLORS: [string, Key][] = [
  ["#1a1a1a", "color.black"],
  ["#1f5fbf", "color.blue"],
  ["#c0392b", "color.red"],
  ["#1e8449", "color.green"],
  ["#d35400", "color.orange"],
  ["#7d3c98", "color.purple"],
];
const WIDTHS = [2, 4, 8, 16];

export function toolbar(board: BoardView, session: ClassSession, options: { teacher: boolean; onChange?: () => void }): HTMLElement {
  const bar = h("div", { class: "toolbar", role: "toolbar", "aria-label": t("tool.tools") });
  const refresh = (): void => {
    for (const el of bar.querySelectorAll<HTMLElement>("[data-tool]")) el.setAttribute("aria-pressed", String(el.dataset.tool === board.tool));
    for (const el of bar.querySelectorAll<HTMLElement>("[data-color]")) el.setAttribute("aria-pressed", String(el.dataset.color === board.color));
    for (const el of bar.querySelectorAll<HTMLElement>("[data-width]")) el.setAttribute("aria-pressed", String(Number(el.dataset.width) === board.width));
    options.onChange?.();
  };
  const group = (cls: string, items: HTMLElement[]): HTMLElement => h("div", { class: `tool-group ${cls}` }, items);
  bar.append(
    group(
      "tools",
      TOOLS.map(([tool, glyph]) =>
        h("button", { class: "tool", type: "button", "data-tool": tool, title: t(`tool.${tool}` as Key), onclick: () => { board.tool = tool; refresh(); } }, [
          h("span", { class: "glyph", "aria-hidden": "true" }, [glyph]),
          h("span", { class: "tool-label" }, [t(`tool.${tool}` as Key)]),
        ]),
      ),
    ),
    group(
      "colors",
      COLORS.map(([color, name]) => {
        const b = h("button", { class: "swatch", type: "button", "data-color": color, "aria-label": t("tool.color", { name: t(name) }), title: t(name), onclick: () => { board.color = color; refresh(); } });
        b.style.setProperty("--swatch", color);
        return b;
      }),
    ),
    group(
      "widths",
      WIDTHS.map((w) => {
        const b = h("button", { class: "width", type: "button", "data-width": w, "aria-label": t("tool.width", { n: w }), onclick: () => { board.width = w; refresh(); } }, [h("span", { class: "line", "aria-hidden": "true" })]);
        // Previews 2.5, 5, 10 and 20 px thick: each twice the last, so they look different at a glance.
        b.style.setProperty("--w", `${w * 1.25}px`);
        return b;
      }),
    ),
    group("history", [
      h("button", { class: "tool", type: "button", "data-action": "undo", onclick: () => void session.conn.send("board_undo", { client_id: newId("un") }) }, [h("span", { class: "glyph", "aria-hidden": "true" }, ["↶"]), h("span", { class: "tool-label" }, [t("tool.undo")])]),
      h("button", { class: "tool", type: "button", "data-action": "redo", onclick: () => void session.conn.send("board_redo", { client_id: newId("re") }) }, [h("span", { class: "glyph", "aria-hidden": "true" }, ["↷"]), h("span", { class: "tool-label" }, [t("tool.redo")])]),
      options.teacher
        ? h("button", { class: "tool", type: "button", "data-action": "clear", onclick: async () => {
            if (await confirmDialog(t("tool.clearConfirm"))) void session.conn.send("page_clear", { page_id: session.board.current, op_id: newId("cl") });
          } }, [h("span", { class: "glyph", "aria-hidden": "true" }, ["⌧"]), h("span", { class: "tool-label" }, [t("tool.clear")])])
        : null as never,
    ].filter(Boolean)),
  );
  refresh();
  return bar;
}
