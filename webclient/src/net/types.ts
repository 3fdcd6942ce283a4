/** Wire shapes shared by the client modules (see docs/protocol.md). */

export interface Actor {
  role: "teacher" | "student" | "board";
  id: string;
  name?: string;
}

/** A lesson-log event as the server emits it. Transient notices carry no ``seq``. */
export interface WireEvent {
  seq?: number;
  type: string;
  by?: Actor;
  ts?: number;
  data: Record<string, unknown>;
  cid?: string;
  aud?: string;
}

export interface ErrorBody {
  code: string;
  message: string;
  field?: string;
  expected_offset?: number;
  retry_after_s?: number;
}

export type Ack = ({ ok: true } & Record<string, unknown>) | { ok: false; error: ErrorBody };

export interface Message {
  event: string;
  payload: Record<string, unknown>;
}

/** A new client-made id: retries reuse it so the server counts the write once. */
export function newId(prefix: string): string {
  const bytes = new Uint8Array(9);
  crypto.getRandomValues(bytes);
  let text = "";
  for (const b of bytes) text += b.toString(36).padStart(2, "0");
  return `${prefix}-${text}`;
}
