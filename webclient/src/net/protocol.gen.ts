// Generated from classroom/protocol/ by `classroom docs`; do not edit.
// `classroom docs --check` (and the test suite) fails when this file is stale.
/* eslint-disable */

export const PROTOCOL_VERSION = 1;
export const NAMESPACE = "/";

export const BOARD_HEIGHT = 1080;
export const BOARD_WIDTH = 1920;
export const DEFAULT_POINTS = 1000;
export const DEFAULT_TIME_LIMIT_S = 30;
export const HIGHLIGHTER_OPACITY = 0.4;
export const MAX_ACCEPTED_ANSWERS = 20;
export const MAX_ACCEPTED_CHARS = 100;
export const MAX_ANSWER_CHARS = 200;
export const MAX_BATCH_POINTS = 64;
export const MAX_BOARD_ITEMS = 50000;
export const MAX_BOARD_POINTS = 2000000;
export const MAX_CHOSEN_STUDENTS = 500;
export const MAX_ERASE_IDS = 500;
export const MAX_IMAGE_BYTES = 1500000;
export const MAX_IMAGE_REF_CHARS = 300;
export const MAX_ITEMS_PER_PAGE = 5000;
export const MAX_NUMBER = 1000000000000000.0;
export const MAX_OPEN_TEXT_CHARS = 500;
export const MAX_OPTIONS = 10;
export const MAX_OPTION_CHARS = 200;
export const MAX_PAGES = 100;
export const MAX_POINTS = 10000;
export const MAX_POLL_OPTIONS = 10;
export const MAX_QUESTIONS = 100;
export const MAX_QUESTION_CHARS = 500;
export const MAX_RATING_SCALE = 10;
export const MAX_RESUME_PAGE = 5000;
export const MAX_SEGMENTS = 10000;
export const MAX_SEGMENT_BYTES = 262144;
export const MAX_SEGMENT_MS = 10000;
export const MAX_SHOWN_ANSWERS = 100;
export const MAX_SIDE = 4096;
export const MAX_STROKE_MS = 3600000;
export const MAX_STROKE_POINTS = 10000;
export const MAX_TEXT_CHARS = 500;
export const MAX_TEXT_LINES = 20;
export const MAX_TEXT_SIZE = 300.0;
export const MAX_TIME_LIMIT_S = 600;
export const MAX_TITLE_CHARS = 200;
export const MAX_WIDTH = 100.0;
export const MAX_WORDS_PER_VOTE = 3;
export const MAX_WORD_CHARS = 30;
export const MIN_OPTIONS = 2;
export const MIN_POLL_OPTIONS = 2;
export const MIN_SEGMENT_MS = 20;
export const MIN_TEXT_SIZE = 8.0;
export const MIN_TIME_LIMIT_S = 5;
export const MIN_WIDTH = 0.5;

/** Client->server events: payload, ok-ack fields (besides `ok`), who may send. */
export interface ClientEvents {
  audio_segment: { payload: AudioSegment; ack: AudioAck; roles: "board" };
  board_add_shape: { payload: ShapeAdd; ack: AppendAck; roles: "student" | "teacher" };
  board_add_text: { payload: TextAdd; ack: AppendAck; roles: "student" | "teacher" };
  board_allow_drawing: { payload: BoardAllowDrawing; ack: AppendAck; roles: "teacher" };
  board_erase: { payload: BoardErase; ack: AppendAck; roles: "student" | "teacher" };
  board_redo: { payload: BoardRedo; ack: AppendAck; roles: "student" | "teacher" };
  board_revoke_drawing: { payload: BoardRevokeDrawing; ack: AppendAck; roles: "teacher" };
  board_undo: { payload: BoardUndo; ack: AppendAck; roles: "student" | "teacher" };
  camera_keyframe: { payload: CameraKeyframe; ack: CameraAck; roles: "board" };
  camera_snapshot: { payload: CameraSnapshot; ack: CameraAck; roles: "board" };
  class_end: { payload: ClassEnd; ack: AppendAck; roles: "teacher" };
  class_snapshot: { payload: ClassSnapshot; ack: ClassSnapshotAck; roles: "board" | "student" | "teacher" };
  class_snapshot_piece: { payload: ClassSnapshotPiece; ack: ClassSnapshotPieceAck; roles: "board" | "student" | "teacher" };
  clock_sync: { payload: ClockSync; ack: ClockSyncAck; roles: "board" | "student" | "teacher" };
  hand_lower: { payload: HandLower; ack: AppendAck; roles: "teacher" };
  hand_raise: { payload: HandRaise; ack: AppendAck; roles: "student" };
  lesson_details_update: { payload: LessonDetailsSet; ack: AppendAck; roles: "teacher" };
  lesson_publish: { payload: LessonPublish; ack: AppendAck; roles: "teacher" };
  lesson_share: { payload: LessonShare; ack: AppendAck; roles: "teacher" };
  log_resume: { payload: LogResume; ack: LogResumeAck; roles: "board" | "student" | "teacher" };
  page_add: { payload: PageAdd; ack: AppendAck; roles: "teacher" };
  page_clear: { payload: PageClear; ack: AppendAck; roles: "teacher" };
  page_delete: { payload: PageDelete; ack: AppendAck; roles: "teacher" };
  page_reorder: { payload: PageReorder; ack: AppendAck; roles: "teacher" };
  page_set_background: { payload: PageSetBackground; ack: AppendAck; roles: "teacher" };
  page_switch: { payload: PageSwitch; ack: AppendAck; roles: "teacher" };
  poll_close: { payload: PollRef; ack: AppendAck; roles: "teacher" };
  poll_create: { payload: PollCreate; ack: PollCreateAck; roles: "teacher" };
  poll_hide_results: { payload: PollRef; ack: AppendAck; roles: "teacher" };
  poll_open: { payload: PollRef; ack: AppendAck; roles: "teacher" };
  poll_show_results: { payload: PollShowResults; ack: AppendAck; roles: "teacher" };
  poll_vote: { payload: PollVote; ack: AppendAck; roles: "student" };
  quiz_answer: { payload: QuizAnswer; ack: QuizAnswerAck; roles: "student" };
  quiz_create: { payload: QuizCreate; ack: QuizCreateAck; roles: "teacher" };
  quiz_end: { payload: QuizRef; ack: AppendAck; roles: "teacher" };
  quiz_next: { payload: QuizRef; ack: AppendAck; roles: "teacher" };
  quiz_rename: { payload: QuizRename; ack: AppendAck; roles: "teacher" };
  quiz_skip: { payload: QuizRef; ack: AppendAck; roles: "teacher" };
  quiz_start: { payload: QuizStart; ack: AppendAck; roles: "teacher" };
  roster_get: { payload: RosterGet; ack: RosterGetAck; roles: "teacher" };
  stroke_end: { payload: StrokeEnd; ack: AppendAck; roles: "student" | "teacher" };
  stroke_extend: { payload: StrokeExtend; ack: AppendAck; roles: "student" | "teacher" };
  stroke_start: { payload: StrokeStart; ack: AppendAck; roles: "student" | "teacher" };
  student_remove: { payload: StudentRemove; ack: AppendAck; roles: "teacher" };
  student_rename: { payload: StudentRename; ack: AppendAck; roles: "teacher" };
}
export type ClientEventName = keyof ClientEvents;
export const CLIENT_EVENTS: readonly ClientEventName[] = ["audio_segment", "board_add_shape", "board_add_text", "board_allow_drawing", "board_erase", "board_redo", "board_revoke_drawing", "board_undo", "camera_keyframe", "camera_snapshot", "class_end", "class_snapshot", "class_snapshot_piece", "clock_sync", "hand_lower", "hand_raise", "lesson_details_update", "lesson_publish", "lesson_share", "log_resume", "page_add", "page_clear", "page_delete", "page_reorder", "page_set_background", "page_switch", "poll_close", "poll_create", "poll_hide_results", "poll_open", "poll_show_results", "poll_vote", "quiz_answer", "quiz_create", "quiz_end", "quiz_next", "quiz_rename", "quiz_skip", "quiz_start", "roster_get", "stroke_end", "stroke_extend", "stroke_start", "student_remove", "student_rename"];
/** Writes keyed by a `client_id` the client makes once per request (a retry reuses it). */
export const CLIENT_ID_EVENTS: readonly ClientEventName[] = ["board_allow_drawing", "board_redo", "board_revoke_drawing", "board_undo", "class_end", "hand_lower", "hand_raise", "lesson_details_update", "lesson_publish", "lesson_share", "page_delete", "page_reorder", "page_set_background", "page_switch", "poll_close", "poll_create", "poll_hide_results", "poll_open", "poll_show_results", "quiz_create", "quiz_end", "quiz_next", "quiz_rename", "quiz_skip", "quiz_start", "student_remove", "student_rename"];

/** Server->client events: the `data` of each (the log entry's, or the bare notice). */
export interface ServerEvents {
  audio_added: AudioAddedData;
  board_redone: UndoRedoData;
  board_undone: UndoRedoData;
  camera_keyframe_added: KeyframeAddedData;
  camera_updated: CameraUpdatedData;
  class_ended: EmptyData;
  drawing_allowed: DrawingAllowedData;
  drawing_revoked: DrawingRevokedData;
  hand_lowered: HandData;
  hand_raised: HandData;
  items_erased: ItemsErasedData;
  lesson_details_updated: LessonDetailsData;
  lesson_published: LessonPublishedData;
  lesson_shared: LessonSharedData;
  page_added: PageAddedData;
  page_background_set: PageBackgroundData;
  page_cleared: ItemsErasedData;
  page_deleted: PageData;
  page_reordered: PageReorderedData;
  page_switched: PageData;
  poll_closed: PollRefData;
  poll_created: PollDefinitionData;
  poll_opened: PollDefinitionData;
  poll_results_hidden: PollRefData;
  poll_results_shown: PollResultsData;
  poll_tally: PollResultsData;
  poll_voted: PollVotedData;
  quiz_answered: QuizAnsweredData;
  quiz_created: QuizCreatedData;
  quiz_ended: QuizEndedData;
  quiz_leaderboard: LeaderboardData;
  quiz_question_closed: QuestionClosedData;
  quiz_question_opened: QuestionOpenedData;
  quiz_question_skipped: QuestionSkippedData;
  quiz_renamed: QuizRenamedData;
  quiz_result: QuizResultData;
  quiz_started: QuizStartedData;
  session_error: SessionErrorData;
  shape_added: ShapeAddedData;
  stroke_ended: StrokeEndedData;
  stroke_extended: StrokeExtendedData;
  stroke_started: StrokeStartedData;
  student_connected: StudentPresenceData;
  student_disconnected: StudentPresenceData;
  student_joined: StudentJoinedData;
  student_removed: StudentPresenceData;
  student_renamed: StudentRenamedData;
  text_added: TextAddedData;
}
export type ServerEventName = keyof ServerEvents;
export const SERVER_EVENTS: readonly ServerEventName[] = ["audio_added", "board_redone", "board_undone", "camera_keyframe_added", "camera_updated", "class_ended", "drawing_allowed", "drawing_revoked", "hand_lowered", "hand_raised", "items_erased", "lesson_details_updated", "lesson_published", "lesson_shared", "page_added", "page_background_set", "page_cleared", "page_deleted", "page_reordered", "page_switched", "poll_closed", "poll_created", "poll_opened", "poll_results_hidden", "poll_results_shown", "poll_tally", "poll_voted", "quiz_answered", "quiz_created", "quiz_ended", "quiz_leaderboard", "quiz_question_closed", "quiz_question_opened", "quiz_question_skipped", "quiz_renamed", "quiz_result", "quiz_started", "session_error", "shape_added", "stroke_ended", "stroke_extended", "stroke_started", "student_connected", "student_disconnected", "student_joined", "student_removed", "student_renamed", "text_added"];
/** Every error code the server may answer with (stable; the UI maps each to words). */
export const ERROR_CODES = ["ALREADY_ANSWERED", "BUSY", "CLASS_ENDED", "CONFLICT", "DISK_FULL", "EXPORT_FAILED", "FILE_CORRUPT", "FILE_MISSING", "FILE_TOO_LARGE", "FORBIDDEN", "GAP", "IDEMPOTENCY_CONFLICT", "INTERNAL", "INVALID_PAYLOAD", "LIMIT_EXCEEDED", "MANIFEST_INVALID", "METHOD_NOT_ALLOWED", "NAME_TAKEN", "NOTHING_TO_EXPORT", "NOT_FOUND", "NOT_WRITABLE", "OUTDATED_CLIENT", "OUT_OF_RANGE", "PAYLOAD_TOO_LARGE", "PICTURE_MISSING", "PICTURE_TOO_LARGE", "PICTURE_UNREADABLE", "QC_FAILED", "QUIZ_BUNDLE_INVALID", "RATE_LIMITED", "STORE_UNAVAILABLE", "STUDENT_REMOVED", "TIMEOUT", "TOO_LATE", "TRANSFER_CUT", "UNAUTHORIZED", "UNKNOWN_EVENT", "UNSAFE_PATH", "WRONG_QUESTION"] as const;
export type ErrorCode = (typeof ERROR_CODES)[number];

/** Server events by the feature that folds them into its state. */
export const FEATURE_EVENTS: Readonly<Record<string, readonly ServerEventName[]>> = {"audio": ["audio_added"], "board": ["board_redone", "board_undone", "drawing_allowed", "drawing_revoked", "items_erased", "page_added", "page_background_set", "page_cleared", "page_deleted", "page_reordered", "page_switched", "shape_added", "stroke_ended", "stroke_extended", "stroke_started", "text_added"], "camera": ["camera_keyframe_added", "camera_updated"], "core": ["class_ended", "hand_lowered", "hand_raised", "session_error", "student_connected", "student_disconnected", "student_joined", "student_removed", "student_renamed"], "lesson": ["lesson_details_updated", "lesson_published", "lesson_shared"], "polls": ["poll_closed", "poll_created", "poll_opened", "poll_results_hidden", "poll_results_shown", "poll_tally", "poll_voted"], "quizzes": ["quiz_answered", "quiz_created", "quiz_ended", "quiz_leaderboard", "quiz_question_closed", "quiz_question_opened", "quiz_question_skipped", "quiz_renamed", "quiz_result", "quiz_started"]};

/** The ack of every write. A retry (same author, same idempotency key) is answered with the stored first answer: the same ``seq`` and fields, and ``duplicate: true``. */
export interface AppendAck {
  /** The log seq of the (first) event this write appended; for a write that changed nothing (``noop``), the class's seq when it was checked. */
  seq: number;
  /** True when a retry matched an event already stored. */
  duplicate: boolean;
  /** True when the write was valid but changed nothing (already so). */
  noop?: boolean;
}

export interface AudioAck {
  seq: number;
  duplicate: boolean;
  asset_id: string;
  /** The decoded duration (what the log records). */
  duration_ms: number;
}

export interface AudioAddedData {
  segment_id: string;
  asset_id: string;
  captured_at_ms: number;
  duration_ms: number;
  codec: string;
  container: string;
  sample_rate: number;
  channels: number;
}

/** A few seconds of the teacher's voice: a whole Opus file (the bytes as a binary attachment), with the server-clock time of its first sample. Taken after the class ended too (late uploads), for times within the lesson. */
export interface AudioSegment {
  segment_id: string;
  captured_at_ms: number;
  duration_ms: number;
  codec: "opus";
  container: "ogg" | "webm";
  audio: string;
}

/** A page background: blank, ruled, grid, or an uploaded image (by its asset id). */
export interface Background {
  kind?: "blank" | "ruled" | "grid" | "image";
  image?: string | null;
}

export interface BackgroundData {
  kind: "blank" | "ruled" | "grid" | "image";
  image?: string | null;
}

/** Let all students (``students`` omitted) or the chosen ones draw. ``ink`` decides who sees the strokes students start from now on: the whole class, or only the teacher (and the student who drew them). */
export interface BoardAllowDrawing {
  students?: string[] | null;
  ink?: "class" | "teacher";
  client_id: string;
}

/** Erase whole items (strokes, shapes, texts) the client's eraser touched, as one operation. */
export interface BoardErase {
  op_id: string;
  page_id: string;
  ids: string[];
}

/** Redo the sender's own latest undone operation (``op_id``, if given, must be it). */
export interface BoardRedo {
  op_id?: string | null;
  client_id: string;
}

/** Stop all students (``students`` omitted) or the chosen ones drawing, at once. Their strokes in progress end where they are. */
export interface BoardRevokeDrawing {
  students?: string[] | null;
  client_id: string;
}

/** Undo the sender's own latest operation (``op_id``, if given, must be that operation). */
export interface BoardUndo {
  op_id?: string | null;
  client_id: string;
}

export interface CameraAck {
  seq: number;
  duplicate: boolean;
  asset_id: string;
}

/** The board device keeps a full board (before an erase, or a new page), maybe late. */
export interface CameraKeyframe {
  keyframe_id: string;
  image: string;
  format: "jpeg" | "webp" | "png";
  width: number;
  height: number;
  captured_at_ms: number;
  reason?: "erase" | "page" | "manual" | "end";
}

/** The board device sends the current rectified board (only when it changed). */
export interface CameraSnapshot {
  snapshot_id: string;
  image: string;
  format: "jpeg" | "webp" | "png";
  width: number;
  height: number;
}

export interface CameraUpdatedData {
  snapshot_id: string;
  asset_id: string;
  format: string;
  width: number;
  height: number;
  /** Kept for replays as its own asset (at most one every 10 s, 32 MiB a class); otherwise the asset is the live view, overwritten by the next. */
  kept?: boolean;
  /** The image's size in bytes. */
  bytes?: number;
}

/** Single choice (exactly one correct option) or multiple choice (one or more). */
export interface ChoiceQuestion {
  question: string;
  time_limit_s?: number;
  points?: number;
  image?: string | null;
  type: "single" | "multiple";
  options: string[];
  correct: number[];
}

/** End the class: students and devices disconnect; reconnects and writes get CLASS_ENDED. */
export interface ClassEnd {
  client_id: string;
}

/** Ask for the live state of the class (a late joiner's starting point). */
export interface ClassSnapshot {
  /** The ack carries the first ~64 KB of board items (strokes as `q`, see `class_snapshot_piece`) in `state.board.pages[].items` and a `cursor`: ask `class_snapshot_piece` with it until it is null. Without it the state comes whole (strokes as `pts`), and a board of more than 10,000 stored points is refused with PAYLOAD_TOO_LARGE. */
  paged?: boolean;
}

export interface ClassSnapshotAck {
  /** The state includes every event up to and including this seq. */
  seq: number;
  state: SnapshotState;
  /** Who the server says you are. */
  you: SnapshotActor;
  class_id: string;
  /** The server's PROTOCOL_VERSION. */
  protocol_version: number;
  server_time_ms: number;
  /** With `paged`: ask `class_snapshot_piece` with it (null: done). */
  cursor?: string | null;
}

/** Ask for the next piece of a paged snapshot's board items, as they were at its seq. */
export interface ClassSnapshotPiece {
  cursor: string;
}

export interface ClassSnapshotPieceAck {
  /** The seq of the snapshot these items belong to. */
  seq: number;
  /** `[{id, items}]`: append each page's items to that page, in order. */
  pages: Record<string, unknown>[];
  /** Ask again with it; null when every piece was sent. */
  cursor: string | null;
}

/** Measure the clock offset: the ack carries the server time for this client time. */
export interface ClockSync {
  client_time_ms: number;
}

export interface ClockSyncAck {
  client_time_ms: number;
  server_time_ms: number;
}

export interface DrawingAllowedData {
  students: string[] | null;
  ink: "class" | "teacher";
}

export interface DrawingRevokedData {
  students: string[] | null;
}

export type EmptyData = Record<string, never>;

export interface HandData {
  student_id: string;
}

/** The teacher lowers a student's hand. */
export interface HandLower {
  student_id: string;
  client_id: string;
}

/** A student raises (or lowers) their hand. */
export interface HandRaise {
  raised: boolean;
  client_id: string;
}

export interface ItemsErasedData {
  op: string;
  page: string;
  ids: string[];
}

export interface KeyframeAddedData {
  keyframe_id: string;
  asset_id: string;
  format: string;
  width: number;
  height: number;
  captured_at_ms: number;
  reason: string;
}

/** The top ten after a question and how many students play. */
export interface LeaderboardData {
  quiz_id: string;
  question: number;
  players: number;
  top: LeaderboardEntry[];
}

export interface LeaderboardEntry {
  rank: number;
  student_id: string;
  name: string;
  score: number;
  streak: number;
}

export interface LessonDetailsData {
  title: string;
  subject: string;
  grade: string;
  languages: string[];
  teacher_name: string;
  description: string;
  trim_start_ms: number | null;
  trim_end_ms: number | null;
}

/** The teacher sets the lesson's details (during or after the class). */
export interface LessonDetailsSet {
  /** Up to 80 characters. */
  title?: string;
  /** One of urdu, english, maths, science, islamiat, social_studies, computer, or the teacher's own words; up to 40 characters. */
  subject?: string;
  /** 1-12, or the teacher's own words; up to 20 characters. */
  grade?: string;
  languages?: ("ur" | "en" | "other")[];
  /** The name viewers see; up to 40 characters. */
  teacher_name?: string;
  /** Up to 500 characters and 20 lines. */
  description?: string;
  trim_start_ms?: number | null;
  trim_end_ms?: number | null;
  client_id: string;
}

/** The teacher puts the recorded lesson in the school's library (`/library`: anyone on the school network may watch it, with no account), or takes it out. Only an ended lesson may be published (else CONFLICT). */
export interface LessonPublish {
  published: boolean;
  client_id: string;
}

export interface LessonPublishedData {
  published: boolean;
}

/** The teacher shares the recorded lesson with the class's students, or stops sharing it: while shared, they may replay it from the student app (others get FORBIDDEN). */
export interface LessonShare {
  shared: boolean;
  client_id: string;
}

export interface LessonSharedData {
  shared: boolean;
}

/** Ask for the events after ``after_seq`` that this client may see, in order. */
export interface LogResume {
  after_seq: number;
  limit?: number;
}

export interface LogResumeAck {
  events: Record<string, unknown>[];
  /** The newest seq in the class when the page was read. */
  head_seq: number;
  /** Ask again from here while `more` is true. */
  next_after_seq: number;
  more: boolean;
}

/** A number; answers within ``tolerance`` of ``correct`` (inclusive) are correct. */
export interface NumericQuestion {
  question: string;
  time_limit_s?: number;
  points?: number;
  image?: string | null;
  type: "numeric";
  correct: number;
  tolerance?: number;
}

/** Add a page at ``index`` (default: last), with a background; optionally switch to it. */
export interface PageAdd {
  page_id: string;
  background?: Background;
  index?: number | null;
  switch?: boolean;
}

export interface PageAddedData {
  page: string;
  background: BackgroundData;
  index: number;
  switch: boolean;
}

export interface PageBackgroundData {
  page: string;
  background: BackgroundData;
}

/** Clear every item on a page, as one undoable operation. */
export interface PageClear {
  page_id: string;
  op_id: string;
}

export interface PageData {
  page: string;
}

/** Delete a page and everything on it (not undoable; the last page cannot be deleted). */
export interface PageDelete {
  page_id: string;
  client_id: string;
}

/** Put the pages in a new order (a permutation of all page ids). */
export interface PageReorder {
  order: string[];
  client_id: string;
}

export interface PageReorderedData {
  order: string[];
}

/** Change a page's background. */
export interface PageSetBackground {
  page_id: string;
  background: Background;
  client_id: string;
}

/** Show another page to the class. */
export interface PageSwitch {
  page_id: string;
  client_id: string;
}

/** Create a draft poll (teacher). Only the teacher sees it until it is opened. */
export interface PollCreate {
  kind: "single" | "multiple" | "yes_no" | "rating" | "word_cloud" | "open_text";
  question: string;
  options?: string[];
  anonymous?: boolean;
  scale_max?: number;
  max_words?: number;
  client_id: string;
}

export interface PollCreateAck {
  /** The log seq of the (first) event this write appended; for a write that changed nothing (``noop``), the class's seq when it was checked. */
  seq: number;
  /** True when a retry matched an event already stored. */
  duplicate: boolean;
  /** True when the write was valid but changed nothing (already so). */
  noop?: boolean;
  /** The new draft poll's id. */
  poll_id: string;
}

/** A poll as the class sees it. */
export interface PollDefinitionData {
  poll_id: string;
  kind: "single" | "multiple" | "yes_no" | "rating" | "word_cloud" | "open_text";
  question: string;
  options: string[];
  anonymous: boolean;
  scale_max: number;
  max_words: number;
}

/** Name one poll (open, close, hide results). */
export interface PollRef {
  poll_id: string;
  client_id: string;
}

export interface PollRefData {
  poll_id: string;
}

/** A poll's tally: the final one shown to the class, or the live one for teachers. */
export interface PollResultsData {
  poll_id: string;
  tally: PollTally;
}

/** Show a closed poll's results to the class; for open text, the answers the teacher picked. */
export interface PollShowResults {
  poll_id: string;
  answer_ids?: number[];
  client_id: string;
}

/** A poll's counts: live (``poll_tally``, teachers) or final (``poll_results_shown``). */
export interface PollTally {
  poll_id: string;
  kind: string;
  status: "draft" | "open" | "closed";
  /** Students counted (a changed vote counts once). */
  responses: number;
  /** Choice and yes/no: the labels, in option order. */
  options?: string[] | null;
  /** Choice and yes/no: votes per option; rating: votes per value 1..scale_max. */
  counts?: number[] | null;
  /** Rating: the mean to 0.01, null without votes. */
  mean?: number | null;
  /** Word cloud: `[word, count]`, most frequent first, at most 100. */
  words?: [string, number][] | null;
  /** Open text, when shown: the answers the teacher picked, in order. */
  answers?: string[] | null;
}

/** A student's response. Exactly the field matching the poll's kind must be set. ``option`` answers single choice and yes/no (0 = yes, 1 = no); ``options`` answers multiple choice; ``rating`` is 1..scale_max; ``words`` feeds a word cloud; ``text`` answers open text. ``vote_id`` is made by the client: a retry with the same id counts once. */
export interface PollVote {
  poll_id: string;
  vote_id: string;
  option?: number | null;
  options?: number[] | null;
  rating?: number | null;
  words?: string[] | null;
  text?: string | null;
}

/** A counted response (audience: teachers and the voter). ``answer`` is normalised. */
export interface PollVotedData {
  poll_id: string;
  vote_id: string;
  answer: number | number[] | string[] | string;
}

/** The reveal: the correct answer, how many answered, and the answer distribution. */
export interface QuestionClosedData {
  quiz_id: string;
  question: number;
  correct: unknown;
  answered: number;
  distribution: number[] | null;
}

/** A question as students see it. Deadline (ms epoch) = the event's ``ts`` + time_limit_ms; ``time_limit_ms`` is null in untimed mode. */
export interface QuestionOpenedData {
  quiz_id: string;
  question: number;
  questions: number;
  type: "single" | "multiple" | "true_false" | "numeric" | "short_text";
  text: string;
  options: string[];
  image: string | null;
  points: number;
  time_limit_ms: number | null;
}

export interface QuestionSkippedData {
  quiz_id: string;
  question: number;
}

/** A student's answer to the question with index ``question``; exactly one answer field. ``option`` answers single choice and true/false (0 = true, 1 = false); ``options`` multiple choice; ``number`` numeric (``text`` is accepted too, Urdu digits included); ``text`` short text. ``answer_id`` is made by the client: a retry with it is a no-op. */
export interface QuizAnswer {
  quiz_id: string;
  question: number;
  answer_id: string;
  option?: number | null;
  options?: number[] | null;
  number?: number | null;
  text?: string | null;
}

export interface QuizAnswerAck {
  /** The log seq of the (first) event this write appended; for a write that changed nothing (``noop``), the class's seq when it was checked. */
  seq: number;
  /** True when a retry matched an event already stored. */
  duplicate: boolean;
  /** True when the write was valid but changed nothing (already so). */
  noop?: boolean;
  /** How long after the question opened the answer counted. */
  time_ms: number;
}

/** An answer (audience: teachers and the student); ``answer`` is normalised. */
export interface QuizAnsweredData {
  quiz_id: string;
  question: number;
  answer_id: string;
  answer: number | number[] | number | string;
}

/** Create a quiz from its definition (the JSON form ``parse_quiz`` produces). */
export interface QuizCreate {
  quiz: QuizDefinition;
  client_id: string;
}

export interface QuizCreateAck {
  /** The log seq of the (first) event this write appended; for a write that changed nothing (``noop``), the class's seq when it was checked. */
  seq: number;
  /** True when a retry matched an event already stored. */
  duplicate: boolean;
  /** True when the write was valid but changed nothing (already so). */
  noop?: boolean;
  /** The new quiz's id. */
  quiz_id: string;
  questions: number;
}

/** A quiz with its answers (audience: teachers). */
export interface QuizCreatedData {
  quiz_id: string;
  quiz: Record<string, unknown>;
}

/** A whole quiz: its title and 1..100 questions, with the correct answers. */
export interface QuizDefinition {
  title: string;
  questions: (ChoiceQuestion | TrueFalseQuestion | NumericQuestion | ShortTextQuestion)[];
}

/** The end: the podium (places 1-3, ties share a place) and the top ten. */
export interface QuizEndedData {
  quiz_id: string;
  players: number;
  podium: LeaderboardEntry[];
  top: LeaderboardEntry[];
}

/** Name one quiz (next, skip, end). */
export interface QuizRef {
  quiz_id: string;
  client_id: string;
}

/** Give a quiz a new title (shown on the big screen, in reports and exports); Urdu is welcome. The title is checked like every display name: 1-80 characters, no control characters, spaces collapsed. */
export interface QuizRename {
  quiz_id: string;
  title: string;
  client_id: string;
}

/** A quiz's new title (audience: teachers until the quiz starts, then everyone). */
export interface QuizRenamedData {
  quiz_id: string;
  title: string;
}

/** One student's own outcome of the question that just closed (sent to that student only). */
export interface QuizResultData {
  quiz_id: string;
  /** The question that closed, from 0. */
  question: number;
  /** Whether this student answered it in time. */
  answered: boolean;
  /** Fully right (false when not answered). */
  correct: boolean;
  /** Points for this question, bonus included. */
  points: number;
  /** The student's total after it. */
  score: number;
  /** Place among the players (1 = first); null: none yet. */
  rank: number | null;
  players: number;
}

/** Start a quiz: ``timed`` scores speed and streaks; ``untimed`` scores correctness only. */
export interface QuizStart {
  quiz_id: string;
  mode?: "timed" | "untimed";
  client_id: string;
}

export interface QuizStartedData {
  quiz_id: string;
  title: string;
  mode: "timed" | "untimed";
  questions: number;
}

/** Ask for the class roster with live connection state. */
export type RosterGet = Record<string, never>;

export interface RosterGetAck {
  students: Record<string, unknown>[];
}

/** Why the server is closing this connection; a reconnect is refused with the same code. */
export interface SessionErrorData {
  /** A stable error code, e.g. STUDENT_REMOVED. */
  code: string;
  message: string;
}

/** Add a line, arrow, rectangle or ellipse given by two corner/end points. */
export interface ShapeAdd {
  shape_id: string;
  page_id: string;
  kind: "line" | "arrow" | "rectangle" | "ellipse";
  start: [number, number];
  end: [number, number];
  color: string;
  width: number;
}

export interface ShapeAddedData {
  id: string;
  page: string;
  kind: "line" | "arrow" | "rectangle" | "ellipse";
  /** [x1, y1, x2, y2]. */
  pts: number[];
  color: string;
  width: number;
}

/** A short typed answer compared with each accepted answer after normalisation. */
export interface ShortTextQuestion {
  question: string;
  time_limit_s?: number;
  points?: number;
  image?: string | null;
  type: "short_text";
  correct: string[];
}

export interface SnapshotActor {
  role: "teacher" | "student" | "board";
  id: string;
  name: string;
}

export interface SnapshotAudio {
  /** How many `audio_added` segments the lesson has. */
  segments: number;
  /** Their total duration. */
  duration_ms: number;
}

export interface SnapshotBoard {
  /** The newest board event folded into this part (at most the snapshot's `seq`). */
  seq: number;
  size: SnapshotSize;
  pages: SnapshotPage[];
  /** Page ids in order. */
  order: string[];
  /** The page the class sees. */
  current: string;
  drawing: SnapshotDrawing;
  /** The viewer's own undo stack. */
  undo: SnapshotHistory;
  redo: SnapshotHistory;
}

export interface SnapshotCamera {
  /** The last `camera_updated` data, if any. */
  latest: Record<string, unknown> | null;
  /** Every `camera_keyframe` data, by time. */
  keyframes: Record<string, unknown>[];
}

export interface SnapshotCore {
  /** Teachers only: `{student_id, name, online, hand_raised}` per student. */
  students?: Record<string, unknown>[] | null;
  /** Student ids with a raised hand, first raised first. */
  hands: string[];
  ended: boolean;
}

export interface SnapshotDrawing {
  /** Who besides the teacher draws. */
  mode: "none" | "all" | "chosen";
  /** Where students' ink goes: the whole class, or only teachers (and its author). */
  ink: "class" | "teacher";
  /** Teachers only: chosen student ids. */
  allowed?: string[] | null;
  /** Teachers only: students revoked. */
  denied?: string[] | null;
  /** Whether the viewer may draw now. */
  may_draw: boolean;
}

export interface SnapshotHistory {
  /** The op id an undo (redo) would act on, if any. */
  next: string | null;
  depth: number;
}

export interface SnapshotLesson {
  /** The last `lesson_details_updated` data; null until the teacher set them. */
  details: Record<string, unknown> | null;
  /** The server time of the lesson's first event. */
  started_at: number | null;
  /** From the first event to `class_ended` (so far, while live): the range of the trim points. */
  duration_ms: number;
}

export interface SnapshotPage {
  id: string;
  /** `{kind, image}` as in `page_add`. */
  background: Record<string, unknown>;
  /** In drawing order. Stroke `{id, type: 'stroke', tool, color, width, pts, done, by}` with `pts` flat `[x, y, pressure, t, x, y, ...]`; shape `{id, type: 'shape', kind, pts: [x1, y1, x2, y2], color, width, by}`; text `{id, type: 'text', text, x, y, size, color, dir, by}`. An item hidden by an undoable erase carries `hidden_by` (op ids). In a paged snapshot (and its pieces) a stroke carries `q` instead of `pts`: see `class_snapshot_piece`. */
  items: Record<string, unknown>[];
}

export interface SnapshotPolls {
  /** In creation order: the poll's definition (as `poll_opened`) and `status`, `results_shown`, `results` (the shown tally or null). Teachers also get `tally`, `votes` (named polls) and `answers` (open text) and see drafts; students get `my_vote` `{vote_id, answer}` or null. */
  polls: Record<string, unknown>[];
}

export interface SnapshotQuizzes {
  /** `{quiz_id, title, status, mode, questions, current, leaderboard, final}`; `current` is the open or last question as `quiz_question_opened` shows it plus `status`, `opened_ms`, `deadline_ms`, `answered` (and `correct`, `distribution` once closed, or always for teachers). Teachers also get `definition` and `ranking`; students `me` (score, streak, rank) and `my_answers`. Students and boards do not see quizzes that have not started. */
  quizzes: Record<string, unknown>[];
}

export interface SnapshotSize {
  width: number;
  height: number;
}

export interface SnapshotState {
  core: SnapshotCore;
  board: SnapshotBoard;
  polls: SnapshotPolls;
  quizzes: SnapshotQuizzes;
  camera: SnapshotCamera;
  audio: SnapshotAudio;
  lesson: SnapshotLesson;
}

/** End a stroke; ``length`` is how many points the client sent in all (checks for gaps). */
export interface StrokeEnd {
  stroke_id: string;
  length: number;
}

export interface StrokeEndedData {
  id: string;
  /** The stroke's final number of points. */
  n: number;
}

/** Append a batch of points to a stroke; ``offset`` is the index of the batch's first point. */
export interface StrokeExtend {
  stroke_id: string;
  offset: number;
  points: [number, number, number, number][];
}

export interface StrokeExtendedData {
  id: string;
  /** Index of the first point of this batch. */
  offset: number;
  /** Flat [x, y, pressure, t, ...]. */
  pts: number[];
}

/** Start a pen or highlighter stroke, optionally with its first batch of points. */
export interface StrokeStart {
  stroke_id: string;
  page_id: string;
  tool: "pen" | "highlighter";
  color: string;
  width: number;
  points?: [number, number, number, number][];
}

export interface StrokeStartedData {
  id: string;
  page: string;
  tool: "pen" | "highlighter";
  color: string;
  width: number;
  /** Flat [x, y, pressure, t, x, y, pressure, t, ...]. */
  pts: number[];
}

export interface StudentJoinedData {
  student_id: string;
  name: string;
}

export interface StudentPresenceData {
  student_id: string;
}

/** The teacher removes a student: their connections are told (`session_error`, STUDENT_REMOVED) and closed, their token no longer connects, they leave the roster. Their answers stay in the log and the reports, their scores on the quiz leaderboard. */
export interface StudentRemove {
  student_id: string;
  client_id: string;
}

/** The teacher renames a student: the name is checked like the one typed to join (1-40 characters, Urdu welcome, spaces collapsed) and must not be another student's (NAME_TAKEN). */
export interface StudentRename {
  student_id: string;
  name: string;
  client_id: string;
}

export interface StudentRenamedData {
  student_id: string;
  /** The name everyone sees from now on. */
  name: string;
}

/** Add a text (Urdu or English); ``x, y`` is where the first line starts, at its top. The direction is detected from the first strong character: right-to-left text starts at ``x`` and runs leftwards. */
export interface TextAdd {
  text_id: string;
  page_id: string;
  text: string;
  x: number;
  y: number;
  size: number;
  color: string;
}

export interface TextAddedData {
  id: string;
  page: string;
  text: string;
  x: number;
  y: number;
  size: number;
  color: string;
  dir: "ltr" | "rtl";
}

/** A statement that is true or false; students answer option 0 (true) or 1 (false). */
export interface TrueFalseQuestion {
  question: string;
  time_limit_s?: number;
  points?: number;
  image?: string | null;
  type: "true_false";
  correct: boolean;
}

export interface UndoRedoData {
  op: string;
  /** 'add': the op added item `op` (ids == [op]); 'erase': it hid `ids`. */
  kind: "add" | "erase";
  ids: string[];
}
