/** A live class as one client sees it: the connection plus every feature's model. */
import { BoardModel } from "./board/model";
import { Connection, type Snapshot, type Status } from "./net/connection";
import type { Actor, ErrorBody, Message, WireEvent } from "./net/types";
import { PollsModel } from "./polls";
import { QuizModel } from "./quiz";

export interface Student {
  student_id: string;
  name: string;
  online?: boolean;
  hand_raised?: boolean;
}

/** The camera board: the latest live view of the physical board (boardclient run). */
export interface CameraView {
  snapshot_id: string;
  asset_id: string;
  width: number;
  height: number;
}

export class ClassSession {
  readonly conn: Connection;
  board: BoardModel;
  polls: PollsModel;
  quizzes: QuizModel;
  students = new Map<string, Student>();
  hands: string[] = [];
  ended = false;
  camera: CameraView | null = null;
  you: Actor;
  ready = false;
  status: Status = "connecting";
  statusError: ErrorBody | undefined;
  pending = 0;
  private listeners = new Set<(what: string) => void>();

  constructor(
    auth: Record<string, string>,
    role: Actor["role"],
    onWriteFailed?: (message: Message, error: ErrorBody) => void,
    /** The address of a stored picture of the class (a quiz question's), for an <img>. */
    readonly pictureUrl: (assetId: string) => string = () => "",
  ) {
    this.you = { role, id: "" };
    this.board = new BoardModel(this.you);
    this.polls = new PollsModel(role);
    this.quizzes = new QuizModel(role, "");
    this.conn = new Connection({
      auth,
      strict: role === "teacher",
      onSnapshot: (s) => this.loadSnapshot(s),
      onEvent: (e) => this.apply(e),
      onStatus: (status, error) => {
        this.status = status;
        this.statusError = error;
        this.emit("status");
      },
      onWriteFailed,
      onPending: (n) => {
        this.pending = n;
        this.emit("status");
      },
    });
  }

  on(listener: (what: string) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private emit(what: string): void {
    for (const l of this.listeners) l(what);
  }

  private loadSnapshot(s: Snapshot): void {
    this.you = { role: s.you.role as Actor["role"], id: s.you.id, name: s.you.name };
    this.board = new BoardModel(this.you);
    this.board.load(s.state.board);
    this.polls = new PollsModel(this.you.role);
    this.polls.load(s.state.polls);
    this.quizzes = new QuizModel(this.you.role, this.you.id);
    this.quizzes.load(s.state.quizzes);
    const core = s.state.core ?? {};
    this.students = new Map((core.students ?? []).map((st: Student) => [st.student_id, { ...st }]));
    this.hands = [...(core.hands ?? [])];
    this.ended = Boolean(core.ended);
    this.camera = (s.state.camera?.latest as CameraView | null | undefined) ?? null;
    this.ready = true;
    this.emit("snapshot");
  }

  private apply(event: WireEvent): void {
    if (!this.ready) return;
    if (this.board.apply(event)) return this.emit("board");
    if (this.polls.apply(event)) return this.emit("polls");
    if (this.quizzes.apply(event)) return this.emit("quiz");
    const d = event.data as Record<string, any>;
    const sid = d.student_id as string;
    switch (event.type) {
      case "student_joined":
        this.students.set(sid, { ...(this.students.get(sid) ?? {}), student_id: sid, name: d.name });
        break;
      case "student_renamed": {
        const st = this.students.get(sid);
        if (st) st.name = d.name;
        this.polls.renamed(sid, d.name);
        this.quizzes.renamed(sid, d.name);
        if (sid === this.you.id && this.you.role === "student") {
          this.you = { ...this.you, name: d.name };
          this.emit("you");
        }
        break;
      }
      case "student_removed":
        this.students.delete(sid);
        this.hands = this.hands.filter((x) => x !== sid);
        if (sid === this.you.id && this.you.role === "student") this.conn.refuse({ code: "STUDENT_REMOVED", message: "" });
        break;
      case "session_error":
        // The server closes this connection next, for good; say why (in the UI's words, from
        // the code) instead of retrying.
        if (typeof d.code === "string") this.conn.refuse({ code: d.code, message: "" });
        return;
      case "student_connected":
      case "student_disconnected": {
        const st = this.students.get(sid);
        if (st) st.online = event.type === "student_connected";
        break;
      }
      case "hand_raised":
        if (!this.hands.includes(sid)) this.hands.push(sid);
        break;
      case "hand_lowered":
        this.hands = this.hands.filter((x) => x !== sid);
        break;
      case "class_ended":
        this.ended = true;
        this.hands = [];
        break;
      case "camera_updated":
        this.camera = d as CameraView;
        this.emit("camera");
        return;
      default:
        return;
    }
    this.emit("core");
  }
}
