import { ServerError } from "../api";
/**
 * One live connection to a class: Socket.IO with token auth, the snapshot, the ordered log,
 * resume after reconnects, the clock offset, and the outbox of writes.
 */
import { io, type Socket } from "socket.io-client";
import { ClockSync, sampleOf } from "./clock";
import { LogFollower } from "./follower";
import { Outbox } from "./outbox";
import { CLIENT_ID_EVENTS, PROTOCOL_VERSION } from "./protocol.gen";
import { connectedUpToDate, reloadOutdatedApp, tabStore } from "./reload";
import { type Ack, type ErrorBody, type Message, newId, type WireEvent } from "./types";

const KEYED_BY_CLIENT_ID: ReadonlySet<string> = new Set(CLIENT_ID_EVENTS);

export type Status = "connecting" | "online" | "offline" | "refused";

export interface Snapshot {
  seq: number;
  state: Record<string, any>;
  you: { role: string; id: string; name: string };
  class_id: string;
  server_time_ms: number;
}

export interface ConnectionOptions {
  auth: Record<string, string>;
  strict: boolean;
  onSnapshot: (snapshot: Snapshot) => void;
  onEvent: (event: WireEvent) => void;
  onStatus: (status: Status, error?: ErrorBody) => void;
  onWriteFailed?: (message: Message, error: ErrorBody) => void;
  onPending?: (count: number) => void;
}

const ACK_TIMEOUT_MS = 8000;
const RESUME_PAGE = 5000;
/** Refusals a reconnect cannot fix. */
// CLASS_ENDED: the teacher ended the class, which ends its student and board tokens.
// STUDENT_REMOVED: the teacher removed this student, which ends their token.
const FATAL = new Set(["UNAUTHORIZED", "FORBIDDEN", "NOT_FOUND", "INVALID_PAYLOAD", "OUTDATED_CLIENT", "CLASS_ENDED", "STUDENT_REMOVED"]);

export class Connection {
  readonly socket: Socket;
  readonly clock = new ClockSync();
  readonly follower: LogFollower;
  readonly outbox: Outbox;
  status: Status = "connecting";
  private hasSnapshot = false;
  private resuming = false;
  private clockTimer: ReturnType<typeof setInterval> | undefined;

  constructor(private readonly options: ConnectionOptions) {
    this.follower = new LogFollower(
      (event) => options.onEvent(event),
      () => this.resumeSoon(),
      options.strict,
    );
    this.outbox = new Outbox({
      send: (message) => this.request(message.event, message.payload),
      onFailed: options.onWriteFailed,
      onPending: options.onPending,
    });
    this.socket = io({
      // The server refuses another protocol version with OUTDATED_CLIENT (see reload.ts).
      auth: { ...options.auth, protocol_version: PROTOCOL_VERSION },
      transports: ["websocket", "polling"],
      reconnectionDelay: 500,
      reconnectionDelayMax: 4000,
      timeout: 8000,
    });
    this.socket.on("connect", () => void this.onConnect());
    this.socket.on("disconnect", () => this.setStatus("offline"));
    this.socket.on("connect_error", (err: Error & { data?: ErrorBody }) => {
      const code = err.data?.code;
      if (code === "OUTDATED_CLIENT" && reloadOutdatedApp(tabStore(), () => location.reload(), Date.now())) return;
      if (code && FATAL.has(code)) {
        this.setStatus("refused", err.data);
        return;
      }
      this.setStatus("offline");
      // A refusal by the server (not a network failure) is not retried by socket.io itself.
      if (code && !this.socket.active) setTimeout(() => this.socket.connect(), 2000);
    });
    this.socket.onAny((type: string, payload: unknown) => {
      if (payload && typeof payload === "object") {
        const body = payload as Record<string, unknown>;
        // Log events are {seq, type, by, ts, data}; transient notices (poll_tally) are bare data.
        const event = "seq" in body && "data" in body ? ({ ...body, type } as WireEvent) : { type, data: body };
        this.follower.offer(event);
      }
    });
    this.clockTimer = setInterval(() => void this.syncClock(1), 60_000);
  }

  /** Emit with an ack; rejects on timeout (the caller decides whether to retry). */
  async request(event: string, payload: Record<string, unknown> = {}, timeoutMs = ACK_TIMEOUT_MS): Promise<Ack> {
    if (!this.socket.connected) throw new Error("offline");
    return (await this.socket.timeout(timeoutMs).emitWithAck(event, payload)) as Ack;
  }

  /** Queue a write: sent in order, resent after reconnects, answered once. */
  send(event: string, payload: Record<string, unknown>): Promise<Ack> {
    // One id per request, made here once: the outbox resends it unchanged after a lost ack,
    // and the server answers the resend with the first result instead of applying it again.
    if (KEYED_BY_CLIENT_ID.has(event) && payload.client_id === undefined) {
      payload = { ...payload, client_id: newId(event) };
    }
    return this.outbox.send(event, payload);
  }

  close(): void {
    clearInterval(this.clockTimer);
    this.socket.close();
  }

  /** The server ended this session for good (a removed student): stop, say why, no retries. */
  refuse(error: ErrorBody): void {
    this.setStatus("refused", error);
    clearInterval(this.clockTimer);
    this.socket.close();
  }

  /** Drop the socket as a lost network would (tests and the "offline" simulation). */
  simulateDrop(): void {
    this.socket.io.engine?.close();
  }

  private setStatus(status: Status, error?: ErrorBody): void {
    if (this.status === "refused" && status !== "online") return;
    this.status = status;
    if (status !== "online") this.outbox.setOnline(false);
    this.options.onStatus(status, error);
  }

  private async onConnect(): Promise<void> {
    connectedUpToDate(tabStore());
    try {
      if (!this.hasSnapshot) {
        this.follower.beginResume();
        const snapshot = await this.fetchSnapshot();
        this.hasSnapshot = true;
        this.options.onSnapshot(snapshot);
        this.follower.snapshot(snapshot.seq);
      } else {
        await this.resume();
      }
    } catch {
      // The socket dropped mid-way: the next "connect" starts again.
      return;
    }
    this.status = "online";
    this.options.onStatus("online");
    this.outbox.setOnline(true);
    void this.syncClock(5);
  }

  /**
   * The snapshot, its board items fetched piece by piece (~64 KB each, all at the snapshot's
   * seq): on a slow link only one piece is ever on its way, so the server never takes this
   * client for one that stopped reading, and each answer comes well within the ack timeout.
   */
  private async fetchSnapshot(): Promise<Snapshot> {
    const first = await this.answered("class_snapshot", { paged: true });
    const snapshot = first as unknown as Snapshot & { cursor?: string | null };
    const pages = new Map<string, unknown[]>(
      (snapshot.state.board?.pages ?? []).map((page: { id: string; items: unknown[] }) => [page.id, page.items]),
    );
    let cursor = snapshot.cursor ?? null;
    while (cursor !== null) {
      const piece = await this.answered("class_snapshot_piece", { cursor });
      for (const page of piece.pages as { id: string; items: unknown[] }[]) {
        const items = pages.get(page.id);
        if (items) for (const item of page.items) items.push(item);
      }
      cursor = (piece.cursor as string | null | undefined) ?? null;
    }
    return snapshot;
  }

  /** A read's answer, waiting out a RATE_LIMITED refusal; other refusals throw. */
  private async answered(event: string, payload: Record<string, unknown>): Promise<Record<string, unknown>> {
    for (;;) {
      const ack = await this.request(event, payload);
      if (ack.ok) return ack;
      if (ack.error.code !== "RATE_LIMITED") throw new ServerError(ack.error.code, ack.error.message, ack.error.field);
      await new Promise((resolve) => setTimeout(resolve, Math.max(100, (ack.error.retry_after_s ?? 1) * 1000)));
    }
  }

  private resumeSoon(): void {
    this.resume().catch(() => {
      if (this.socket.connected) setTimeout(() => this.resumeSoon(), 1000);
    });
  }

  /** Ask for every event after the last applied one, page by page, then go live again. */
  private async resume(): Promise<void> {
    if (this.resuming) return;
    this.resuming = true;
    this.follower.beginResume();
    try {
      for (;;) {
        // Pages of up to 5,000 events (and ~1 MB): a 200,000-event lesson is 40 asks, not 200.
        const ack = await this.answered("log_resume", { after_seq: this.follower.lastSeq, limit: RESUME_PAGE });
        const page = ack as unknown as { events: WireEvent[]; next_after_seq: number; more: boolean };
        this.follower.page(page.events, page.next_after_seq);
        if (!page.more) break;
      }
      this.follower.endResume();
    } finally {
      this.resuming = false;
    }
  }

  private async syncClock(rounds: number): Promise<void> {
    for (let i = 0; i < rounds && this.socket.connected; i++) {
      const sent = Date.now();
      try {
        const ack = await this.request("clock_sync", { client_time_ms: sent }, 4000);
        if (ack.ok) this.clock.add(sampleOf(sent, Date.now(), ack.server_time_ms as number));
      } catch {
        return;
      }
    }
  }
}
