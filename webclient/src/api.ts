/** The HTTP API (same origin) and the sessions this device keeps in localStorage. */
import type { ErrorBody } from "./net/types";

/** An error the server answered with: its stable code, its (English) message, its field. */
export class ServerError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly field?: string,
  ) {
    super(message);
  }
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly body: ErrorBody,
  ) {
    super(body.message);
  }
}

export async function api<T = any>(method: string, path: string, body?: unknown, token?: string, extraHeaders: Record<string, string> = {}): Promise<T> {
  const headers: Record<string, string> = { ...extraHeaders };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (token) headers.Authorization = `Bearer ${token}`;
  let resp: Response;
  try {
    resp = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  } catch {
    throw new ApiError(0, { code: "OFFLINE", message: "no connection to the server" });
  }
  const data = await resp.json().catch(() => ({}));
  if (!resp.ok || data.ok === false) {
    throw new ApiError(resp.status, data.error ?? { code: `HTTP_${resp.status}`, message: resp.statusText });
  }
  return data as T;
}

/** Fetch a protected file (QR code, report) as an object URL. */
export async function blobUrl(path: string, token: string): Promise<string> {
  const resp = await fetch(path, { headers: { Authorization: `Bearer ${token}` } });
  if (!resp.ok) throw new ApiError(resp.status, { code: `HTTP_${resp.status}`, message: resp.statusText });
  return URL.createObjectURL(await resp.blob());
}

/** A class asset (e.g. a background picture) as a URL an <img> can load: the token goes in the query. */
export function assetUrl(classId: string, assetId: string, token: string): string {
  return `/api/classes/${encodeURIComponent(classId)}/assets/${encodeURIComponent(assetId)}?token=${encodeURIComponent(token)}`;
}

/** Upload a picture (PNG, JPEG or WebP) for a page background; resolves to its asset id. */
export async function uploadImage(classId: string, file: Blob, token: string): Promise<string> {
  let resp: Response;
  try {
    resp = await fetch(`/api/classes/${encodeURIComponent(classId)}/images`, {
      method: "POST",
      headers: { Authorization: `Bearer ${token}`, "Content-Type": file.type || "application/octet-stream" },
      body: file,
    });
  } catch {
    throw new ApiError(0, { code: "OFFLINE", message: "no connection to the server" });
  }
  const data = await resp.json().catch(() => ({}));
  if (!resp.ok || data.ok === false) throw new ApiError(resp.status, data.error ?? { code: `HTTP_${resp.status}`, message: resp.statusText });
  return data.asset_id as string;
}

export interface TeacherSession {
  token: string;
  teacher: string;
}

export interface StudentSession {
  token: string;
  class_id: string;
  student_id: string;
  name: string;
  title: string;
  code: string;
}

function read<T>(key: string): T | null {
  try {
    const raw = localStorage.getItem(key);
    return raw ? (JSON.parse(raw) as T) : null;
  } catch {
    return null;
  }
}

function write(key: string, value: unknown): void {
  try {
    if (value === null) localStorage.removeItem(key);
    else localStorage.setItem(key, JSON.stringify(value));
  } catch {
    /* storage full or blocked: the session lasts until the tab closes */
  }
}

export const sessions = {
  teacher: (): TeacherSession | null => read("takhti.teacher"),
  setTeacher: (s: TeacherSession | null) => write("takhti.teacher", s),
  /** The remembered-device token of the teacher who last signed in on this browser: sent with
   * the next login so failed logins by others at the same address cannot lock them out. */
  device: (teacher: string): string | null => {
    const kept = read<{ teacher: string; device: string }>("takhti.teacher.device");
    return kept && kept.teacher === teacher ? kept.device : null;
  },
  setDevice: (teacher: string, device: string) => write("takhti.teacher.device", { teacher, device }),
  student: (code: string): StudentSession | null => read(`takhti.student.${code}`),
  lastStudent: (): StudentSession | null => {
    const code = read<string>("takhti.student.last");
    return code ? read(`takhti.student.${code}`) : null;
  },
  setStudent: (code: string, s: StudentSession | null) => {
    write(`takhti.student.${code}`, s);
    write("takhti.student.last", s ? code : null);
  },
};

export function normalizeCode(code: string): string {
  return code.toUpperCase().replace(/[^A-Z0-9]/g, "");
}
