/**
 * "Record voice": the smartboard's microphone into the lesson's audio.
 *
 * Each segment is recorded by its own MediaRecorder, so every upload is a whole WebM/Opus file
 * the server can check alone (a timeslice chunk after the first has no header). The next
 * recorder starts just before the previous one stops: segments overlap by a few milliseconds
 * instead of leaving gaps. A segment's time is the server clock at its recorder's start
 * (clock_sync), and it is uploaded to POST /api/classes/{id}/audio; failed uploads are kept
 * and retried, a refused one (400) is dropped and reported.
 */
import { errorText } from "../i18n";
import { ApiError } from "../api";

export const VOICE_SEGMENT_MS = 5000;
const RETRY_MS = 5000;

export type VoiceSupport = "ok" | "insecure" | "unsupported";

/** Whether this page may record: browsers give the microphone only to secure contexts
 * (https, or http://127.0.0.1 / localhost: the smartboard browser on the server's computer). */
export function voiceSupport(win: Window = window): VoiceSupport {
  if (!win.isSecureContext) return "insecure";
  const nav = win.navigator as Navigator & { mediaDevices?: MediaDevices };
  if (!nav.mediaDevices?.getUserMedia || typeof (win as any).MediaRecorder === "undefined") return "unsupported";
  return pickMime(win) ? "ok" : "unsupported";
}

function pickMime(win: Window = window): { mime: string; container: "webm" | "ogg" } | null {
  const Recorder = (win as any).MediaRecorder as typeof MediaRecorder | undefined;
  if (!Recorder) return null;
  if (Recorder.isTypeSupported("audio/webm;codecs=opus")) return { mime: "audio/webm;codecs=opus", container: "webm" };
  if (Recorder.isTypeSupported("audio/ogg;codecs=opus")) return { mime: "audio/ogg;codecs=opus", container: "ogg" };
  return null;
}

/** One segment's recorder, stopped through here so its end time is taken at the call. */
interface Take {
  stop(): void;
}

interface Segment {
  id: string;
  capturedAtMs: number;
  durationMs: number;
  container: "webm" | "ogg";
  blob: Blob;
}

export interface VoiceOptions {
  classId: string;
  token: string;
  /** The server's clock now (ms since the epoch). */
  serverNow: () => number;
  onChange: () => void;
  onError: (message: string) => void;
}

export class VoiceRecorder {
  recording = false;
  uploaded = 0;
  private stream: MediaStream | null = null;
  private current: Take | null = null;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private retryTimer: ReturnType<typeof setTimeout> | undefined;
  private queue: Segment[] = [];
  private sending = false;
  private count = 0;
  private readonly prefix = `v${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;

  constructor(private readonly options: VoiceOptions) {}

  get pending(): number {
    return this.queue.length;
  }

  async start(): Promise<void> {
    if (this.recording) return;
    const format = pickMime();
    if (!format) throw new Error("MediaRecorder cannot record Opus here");
    this.stream = await navigator.mediaDevices.getUserMedia({ audio: { channelCount: 1, echoCancellation: true, noiseSuppression: true } });
    this.recording = true;
    this.next(format);
    this.options.onChange();
  }

  stop(): void {
    if (!this.recording) return;
    this.recording = false;
    clearTimeout(this.timer);
    this.current?.stop();
    this.current = null;
    // The last recorder's stop event still delivers its data; the tracks end after it.
    const stream = this.stream;
    this.stream = null;
    setTimeout(() => stream?.getTracks().forEach((track) => track.stop()), 500);
    this.options.onChange();
  }

  /** Start the next segment's recorder, then stop the running one. */
  private next(format: { mime: string; container: "webm" | "ogg" }): void {
    if (!this.stream || !this.recording) return;
    const recorder = new MediaRecorder(this.stream, { mimeType: format.mime, audioBitsPerSecond: 32_000 });
    const parts: Blob[] = [];
    // Times are taken when start() and stop() are called, not when their events arrive: a
    // busy smartboard delivers events late, and the recording itself starts and ends at the
    // calls.
    const startedAt = Math.round(this.options.serverNow());
    const startedPerf = performance.now();
    let stoppedPerf = 0;
    recorder.addEventListener("dataavailable", (e) => {
      if (e.data.size) parts.push(e.data);
    });
    recorder.addEventListener("stop", () => {
      const durationMs = Math.round((stoppedPerf || performance.now()) - startedPerf);
      // The server takes segments from 20 ms: the teacher's last words are kept however soon
      // after a rollover "Stop" is pressed.
      if (!parts.length || durationMs < 20) return;
      this.count += 1;
      this.queue.push({ id: `${this.prefix}-${this.count}`, capturedAtMs: startedAt, durationMs, container: format.container, blob: new Blob(parts, { type: format.mime }) });
      void this.send();
    });
    const previous = this.current;
    this.current = {
      stop: () => {
        if (recorder.state === "inactive") return;
        stoppedPerf = performance.now();
        recorder.stop();
      },
    };
    recorder.start();
    previous?.stop();
    this.timer = setTimeout(() => this.next(format), VOICE_SEGMENT_MS);
  }

  private async send(): Promise<void> {
    if (this.sending) return;
    this.sending = true;
    clearTimeout(this.retryTimer);
    try {
      while (this.queue.length) {
        const segment = this.queue[0]!;
        try {
          await upload(this.options.classId, this.options.token, segment);
          this.uploaded += 1;
        } catch (err) {
          if (err instanceof ApiError && err.status >= 400 && err.status < 500 && err.status !== 408 && err.status !== 429) {
            this.options.onError(errorText(err)); // refused for good: do not retry it
          } else {
            this.retryTimer = setTimeout(() => void this.send(), RETRY_MS);
            return;
          }
        }
        this.queue.shift();
        this.options.onChange();
      }
    } finally {
      this.sending = false;
    }
  }
}

async function upload(classId: string, token: string, segment: Segment): Promise<void> {
  const query = new URLSearchParams({
    segment_id: segment.id,
    captured_at_ms: String(segment.capturedAtMs),
    duration_ms: String(segment.durationMs),
    codec: "opus",
    container: segment.container,
  });
  let resp: Response;
  try {
    resp = await fetch(`/api/classes/${encodeURIComponent(classId)}/audio?${query}`, {
      method: "POST",
      headers: { Authorization: `Bearer ${token}`, "Content-Type": `audio/${segment.container}` },
      body: segment.blob,
    });
  } catch {
    throw new ApiError(0, { code: "OFFLINE", message: "no connection to the server" });
  }
  const data = await resp.json().catch(() => ({}));
  if (!resp.ok || data.ok === false) throw new ApiError(resp.status, data.error ?? { code: `HTTP_${resp.status}`, message: resp.statusText });
}
