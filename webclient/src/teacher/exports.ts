/**
 * The Export panel of a recorded lesson: the formats as big toggles, Start, a live progress
 * bar, Cancel and the finished files' download links.
 *
 * The export runs on the server in a worker process (classroom/export_jobs.py); this page
 * polls GET /api/classes/{id}/export every `poll_ms` while the job is queued or running (the
 * after-class page has no class socket to push progress to).
 */
import { ApiError, api, type TeacherSession } from "../api";
import { h, replace } from "../dom";
import { fmtNumber, fmtPercent, getLang, t, type Key } from "../i18n";

export const EXPORT_FORMATS = ["broadcast", "mxf", "web", "pdf", "chapters", "package"] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

export interface ExportJob {
  job_id: string;
  formats: string[];
  lang: string;
  state: "queued" | "running" | "done" | "failed" | "cancelled";
  fraction: number;
  stage: string;
  files: string[];
  error: { code: string; message: string } | null;
  cancel_requested: boolean;
}

export interface ExportFile {
  name: string;
  url: string;
  bytes: number;
  media_type: string;
}

export interface ExportState {
  job: ExportJob | null;
  files: ExportFile[];
  available: string[];
  poll_ms: number;
}

const ACTIVE = new Set(["queued", "running"]);
// Error codes the teacher can act on, in their words; anything else shows the server's message.
const KNOWN_ERRORS = ["NOTHING_TO_EXPORT", "DISK_FULL", "INTERRUPTED", "QC_FAILED", "NOT_FOUND"];

export function exportPath(classId: string): string {
  return `/api/classes/${encodeURIComponent(classId)}/export`;
}

/** A finished file's URL an <a> or <video> can load (the token in the query). */
export function fileUrl(file: ExportFile, token: string): string {
  return `${file.url}?token=${encodeURIComponent(token)}`;
}

function fmtBytes(bytes: number): string {
  if (bytes >= 1024 * 1024) return `${fmtNumber(bytes / (1024 * 1024), { maximumFractionDigits: 1 })} MB`;
  return `${fmtNumber(Math.max(1, Math.round(bytes / 1024)))} KB`;
}

function errorText(error: { code: string; message: string }): string {
  if (KNOWN_ERRORS.includes(error.code)) return t(`export.err.${error.code}` as Key, { message: error.message });
  return t("export.failed", { message: error.message });
}

/** The panel for one lesson; it loads its state and keeps itself up to date. */
export function exportPanel(classId: string, me: TeacherSession): HTMLElement {
  const chosen = new Set<string>(["chapters"]);
  let state: ExportState = { job: null, files: [], available: [], poll_ms: 1000 };
  let timer: number | undefined;
  let lang = getLang() === "ur" ? "ur" : "en";

  const toggles = h("div", { class: "export-formats", role: "group", "aria-label": t("export.formats") });
  const langSelect = h(
    "select",
    { name: "export-lang", "aria-label": t("export.lang") },
    (["ur", "en"] as const).map((l) => h("option", { value: l, selected: l === lang }, [t(`lang.${l}`)])),
  ) as HTMLSelectElement;
  langSelect.addEventListener("change", () => (lang = langSelect.value));
  const start = h("button", { class: "btn primary big export-start", type: "button" }, [t("export.start")]) as HTMLButtonElement;
  const cancel = h("button", { class: "btn big export-cancel", type: "button", hidden: true }, [t("export.cancel")]) as HTMLButtonElement;
  const bar = h("progress", { class: "export-progress", max: 1, value: 0, "aria-label": t("export.progress"), hidden: true }) as HTMLProgressElement;
  const status = h("p", { class: "export-status", role: "status", "aria-live": "polite" });
  const message = h("p", { class: "error export-error", role: "alert" });
  const files = h("ul", { class: "export-files" });
  const panel = h("section", { class: "card wide export-panel", "data-state": "", "aria-labelledby": "export-heading" }, [
    h("h2", { id: "export-heading" }, [t("export.title")]),
    toggles,
    h("div", { class: "row export-actions" }, [h("label", { class: "field" }, [h("span", { class: "label" }, [t("export.lang")]), langSelect]), start, cancel]),
    bar,
    status,
    message,
    files,
  ]);

  const renderToggles = (): void => {
    const busy = state.job !== null && ACTIVE.has(state.job.state);
    replace(
      toggles,
      EXPORT_FORMATS.map((fmt) => {
        const available = state.available.includes(fmt);
        const on = available && chosen.has(fmt);
        return h(
          "button",
          {
            type: "button",
            class: `btn big export-format${on ? " on" : ""}`,
            "data-format": fmt,
            "aria-pressed": on ? "true" : "false",
            disabled: !available || busy,
            title: available ? null : t("export.unavailable"),
            onclick: () => {
              if (chosen.has(fmt)) chosen.delete(fmt);
              else chosen.add(fmt);
              render();
            },
          },
          [t(`export.format.${fmt}` as Key)],
        );
      }),
    );
  };

  const render = (): void => {
    const job = state.job;
    const busy = job !== null && ACTIVE.has(job.state);
    panel.dataset.state = job?.state ?? "";
    renderToggles();
    start.disabled = busy || ![...chosen].some((f) => state.available.includes(f));
    cancel.hidden = !busy;
    cancel.disabled = Boolean(job?.cancel_requested);
    bar.hidden = !job || job.state === "cancelled";
    bar.value = job ? job.fraction : 0;
    bar.setAttribute("aria-valuetext", fmtPercent(job?.fraction ?? 0));
    message.textContent = job?.state === "failed" && job.error ? errorText(job.error) : "";
    if (!job) status.textContent = "";
    else if (job.state === "queued") status.textContent = t("export.queued");
    else if (job.state === "running") status.textContent = job.cancel_requested ? t("export.cancelling") : t("export.running", { percent: fmtPercent(job.fraction) });
    else if (job.state === "done") status.textContent = t("export.done");
    else if (job.state === "cancelled") status.textContent = t("export.cancelled");
    else status.textContent = "";
    replace(
      files,
      state.files.map((file) =>
        h("li", {}, [
          h("a", { class: "btn big export-file", href: fileUrl(file, me.token), download: file.name.split("/").pop() ?? file.name, "data-name": file.name, dir: "ltr" }, [file.name]),
          " ",
          h("span", { class: "muted" }, [fmtBytes(file.bytes)]),
        ]),
      ),
    );
  };

  const schedule = (): void => {
    window.clearTimeout(timer);
    if (state.job && ACTIVE.has(state.job.state) && panel.isConnected) timer = window.setTimeout(() => void refresh(), state.poll_ms);
  };

  const refresh = async (): Promise<void> => {
    try {
      state = await api("GET", exportPath(classId), undefined, me.token);
    } catch (err) {
      message.textContent = t("common.error", { message: (err as Error).message });
    }
    render();
    schedule();
  };

  start.addEventListener("click", async () => {
    message.textContent = "";
    start.disabled = true;
    try {
      const formats = EXPORT_FORMATS.filter((f) => chosen.has(f) && state.available.includes(f));
      state = await api("POST", exportPath(classId), { formats, lang }, me.token);
    } catch (err) {
      message.textContent = err instanceof ApiError ? errorText(err.body) : t("common.error", { message: (err as Error).message });
    }
    render();
    schedule();
  });
  cancel.addEventListener("click", async () => {
    cancel.disabled = true;
    try {
      state = await api("POST", `${exportPath(classId)}/cancel`, undefined, me.token);
    } catch (err) {
      message.textContent = t("common.error", { message: (err as Error).message });
    }
    render();
    schedule();
  });

  render();
  void refresh();
  return panel;
}
