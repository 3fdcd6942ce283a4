/** Report downloads (CSV) fetched with the teacher's token. */
import { blobUrl, type TeacherSession } from "../api";
import { h, toast } from "../dom";
import { errorText, getLang } from "../i18n";

export function downloadButton(label: string, path: string, filename: string, me: TeacherSession): HTMLElement {
  return h("button", { class: "btn link-btn", type: "button", "data-report": path, onclick: async () => {
    try {
      // Headings and the server's own words in the teacher's language (issue 15.4).
      const url = await blobUrl(`${path}${path.includes("?") ? "&" : "?"}lang=${getLang()}`, me.token);
      const a = h("a", { href: url, download: filename });
      document.body.append(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(url), 10_000);
    } catch (err) {
      toast(errorText(err), "error");
    }
  } }, [h("span", { class: "icon", "aria-hidden": "true" }, ["↓"]), " ", label]);
}
