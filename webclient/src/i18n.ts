/**
 * Every string in English and Urdu; the language is chosen per device (saved in localStorage).
 * Urdu switches the page to right-to-left and loads the bundled Nastaliq font (Arabic-script
 * subset) on demand; numbers and times are formatted with Intl for the chosen language.
 */
export type Lang = "en" | "ur";

const en = {
  "app.name": "Takhti",
  "lang.switch": "اردو",
  "lang.switchLabel": "Switch language to Urdu",
  "common.cancel": "Cancel",
  "common.close": "Close",
  "common.yes": "Yes",
  "common.no": "No",
  "common.back": "Back",
  "common.loading": "Loading…",
  "common.error": "Something went wrong: {message}",
  "error.FILE_CORRUPT": "A file of the copy is damaged or incomplete. Copy the lessons again.",
  "error.FILE_MISSING": "A file is missing from the copy. Copy the lessons again.",
  "error.FILE_TOO_LARGE": "A file is too large for a lesson.",
  "error.MANIFEST_INVALID": "This folder is not a Takhti lesson library.",
  "error.TRANSFER_CUT": "The transfer stopped. What arrived is kept: try again.",
  "error.UNSAFE_PATH": "A file of the copy is not where it should be; it was not used.",
  "error.DISK_FULL": "The disk is full: free some space and export again.",
  "error.EXPORT_FAILED": "The export could not be made.",
  "error.NOT_WRITABLE": "The export folder cannot be written to.",
  "error.QC_FAILED": "The files were made but did not pass the broadcast checks.",
  "error.PICTURE_TOO_LARGE": "This picture is too large. Use a smaller one (at most 12 megapixels).",
  "error.PICTURE_MISSING": "The quiz shows the picture \u201c{name}\u201d, but it was not sent. Choose the quiz file and its pictures together, or a zip of them.",
  "error.PICTURE_UNREADABLE": "The picture \u201c{name}\u201d cannot be read. Save it as PNG or JPEG and try again.",
  "error.QUIZ_BUNDLE_INVALID": "This zip cannot be used for a quiz. Make a new zip of just the quiz file and its pictures.",
  "error.ALREADY_ANSWERED": "You already answered this question; your first answer counts.",
  "error.BUSY": "The server is busy. Try again in a moment.",
  "error.CLASS_ENDED": "This class has ended.",
  "error.CONFLICT": "That cannot be done right now.",
  "error.FORBIDDEN": "You are not allowed to do this.",
  "error.GAP": "Some ink was lost on the way; it is being sent again.",
  "error.IDEMPOTENCY_CONFLICT": "This request was already sent with other contents.",
  "error.INTERNAL": "Something went wrong on the server.",
  "error.INVALID_PAYLOAD": "Something in what was sent is not right. Check it and try again.",
  "error.LIMIT_EXCEEDED": "The board is full: start a new page.",
  "error.METHOD_NOT_ALLOWED": "This action is not possible here.",
  "error.NOTHING_TO_EXPORT": "This lesson has nothing to export yet.",
  "error.NOT_FOUND": "Not found. It may have been removed.",
  "error.OUTDATED_CLIENT": "A newer version of the app is ready. Reload the page.",
  "error.OUT_OF_RANGE": "That value is outside what is allowed.",
  "error.PAYLOAD_TOO_LARGE": "That is too large to send.",
  "error.RATE_LIMITED": "Too many tries. Wait a little and try again.",
  "error.STORE_UNAVAILABLE": "The server cannot save right now. Try again in a moment.",
  "error.TIMEOUT": "It took too long. Try again.",
  "error.TOO_LATE": "Too late: time is up for this question.",
  "error.UNAUTHORIZED": "Please sign in or join again.",
  "error.UNKNOWN_EVENT": "The app and the server do not understand each other. Reload the page.",
  "error.WRONG_QUESTION": "That answer was for another question.",
  "error.network": "No connection to the server. Check the Wi-Fi and try again.",
  "error.unknown": "Something went wrong. Try again.",
  "status.online": "Connected",
  "status.connecting": "Connecting…",
  "status.offline": "Offline. Your work is kept and will be sent when the connection returns.",
  "status.refused": "This device can no longer join the class: {message}",
  "status.pending": "{n} waiting to send",
  "join.title": "Join your class",
  "join.code": "Class code",
  "join.codeHint": "The code is on the board, e.g. HX4M9T",
  "join.name": "Your name",
  "join.submit": "Join",
  "join.teacher": "I am a teacher",
  "join.NOT_FOUND": "No class has this code. Check it on the board.",
  "join.CLASS_ENDED": "This class has ended.",
  "join.RATE_LIMITED": "Too many wrong codes. Wait a little and try again.",
  "join.INVALID_PAYLOAD": "Please fill in the code and your name.",
  "join.leave": "Leave class",
  "login.title": "Teacher sign in",
  "login.name": "Name",
  "login.password": "Password",
  "login.submit": "Sign in",
  "login.failed": "Wrong name or password.",
  "login.student": "Join as a student",
  "setup.title": "Welcome to Takhti",
  "setup.intro": "Create the first teacher account for this computer.",
  "setup.submit": "Create account",
  "setup.password2": "Password again",
  "setup.mismatch": "The two passwords are different.",
  "setup.short": "Use at least 8 characters.",
  "classes.title": "Your classes",
  "classes.newTitle": "New class title",
  "classes.create": "Create class",
  "classes.open": "Open",
  "classes.ended": "Ended",
  "classes.none": "No classes yet. Create one to start.",
  "classes.signOut": "Sign out",
  "classes.signOutEverywhere": "Sign out everywhere",
  "classes.signOutEverywhereConfirm": "Sign out on every device, this one too? Open consoles will have to sign in again.",
  "classes.signedOutEverywhere": "Signed out on every device.",
  "classes.more": "Show older classes",
  "classes.created": "Created {date}",
  "practice.button": "Practice class",
  "practice.title": "Practice class",
  "practice.intro": "Try a lesson with simulated students: they join, answer, draw, raise hands and sometimes lose the Wi-Fi, like a real class. Nothing is published or counted in reports.",
  "practice.students": "Students",
  "practice.studentsHint": "1 to 60",
  "practice.behaviour": "Behaviour",
  "practice.profile.calm": "Calm class",
  "practice.profile.busy": "Busy class (quick, many hands)",
  "practice.profile.weak-link": "Weak Wi-Fi (slow, drop off often)",
  "practice.start": "Start practice",
  "practice.classTitle": "Practice class",
  "practice.countRange": "Choose between 1 and 60 students.",
  "practice.badge": "Practice",
  "practice.apply": "Change",
  "practice.drop": "Take a student off the Wi-Fi",
  "practice.running": "{n} simulated students in class",
  "practice.stopped": "The simulated students have left.",
  "practice.debrief": "How the lesson went",
  "console.joinCode": "Join code",
  "console.showCode": "Show join code",
  "console.endClass": "End class",
  "console.endConfirm": "End this class for everyone? Students will not be able to write any more.",
  "console.ended": "This class has ended.",
  "console.voiceRecord": "Record voice",
  "console.voiceStop": "Stop voice",
  "console.voiceRecording": "Recording your voice for the lesson ({n} saved)",
  "console.voiceInsecure": "This browser allows the microphone only on the server's own computer (open http://127.0.0.1 there). Here, record with the classroom PC (boardclient run --audio), or record on a phone and attach it after class (classroom lesson audio).",
  "console.voiceUnsupported": "This browser cannot record sound. Record with the classroom PC (boardclient run --audio), or on a phone and attach it after class (classroom lesson audio).",
  "console.voiceDenied": "The microphone was not allowed: {message}. Allow it in the browser's site settings and press Record voice again.",
  "console.voiceRefused": "A piece of the recording was refused: {message}",
  "console.classes": "Classes",
  "console.reports": "Reports",
  "console.tabStudents": "Students",
  "console.tabPages": "Pages",
  "console.tabPolls": "Polls",
  "console.tabQuiz": "Quiz",
  "qr.goTo": "Open this address",
  "qr.enterCode": "or enter the code",
  "qr.scan": "or scan the code with the tablet camera",
  "qr.alt": "QR code to join the class",
  "qr.unreachable": "Tablets cannot open this address: this computer is not on the school network. Connect it to the school Wi-Fi or network and restart Takhti, or start it with --public-url.",
  "roster.none": "No students yet. Show the join code.",
  "roster.count": "{n} students, {m} online",
  "roster.online": "Online",
  "roster.offline": "Offline",
  "roster.hand": "Hand raised",
  "roster.lowerHand": "Lower hand",
  "roster.allowAll": "Everyone may draw",
  "roster.revokeAll": "Nobody may draw",
  "roster.mayDraw": "May draw",
  "roster.allow": "Allow {name} to draw",
  "roster.revoke": "Stop {name} drawing",
  "roster.inkClass": "Students' ink: whole class sees it",
  "roster.inkTeacher": "Students' ink: only I see it",
  "tool.pen": "Pen",
  "tool.highlighter": "Highlighter",
  "tool.eraser": "Eraser",
  "tool.line": "Line",
  "tool.arrow": "Arrow",
  "tool.rectangle": "Rectangle",
  "tool.ellipse": "Ellipse",
  "tool.text": "Text",
  "tool.color": "Colour: {name}",
  "tool.width": "Line width {n}",
  "tool.undo": "Undo",
  "tool.redo": "Redo",
  "tool.clear": "Clear page",
  "tool.clearConfirm": "Clear everything on this page? (Undo brings it back.)",
  "tool.tools": "Drawing tools",
  "color.black": "black",
  "color.blue": "blue",
  "color.red": "red",
  "color.green": "green",
  "color.orange": "orange",
  "color.purple": "purple",
  "board.label": "Class whiteboard",
  "board.textInput": "Text to put on the board",
  "board.textDone": "Add text",
  "board.page": "Page {n} of {m}",
  "board.resetZoom": "Reset zoom",
  "pages.page": "Page {n}",
  "pages.add": "Add page",
  "pages.earlier": "Move page {n} earlier",
  "pages.later": "Move page {n} later",
  "pages.delete": "Delete page {n}",
  "pages.deleteConfirm": "Delete page {n} and everything on it? This cannot be undone.",
  "pages.background": "Background",
  "pages.uploadPicture": "Picture as background…",
  "pages.uploading": "Uploading the picture…",
  "pages.pictureSet": "The picture is now this page's background.",
  "bg.blank": "Blank",
  "bg.ruled": "Ruled",
  "bg.grid": "Grid",
  "bg.image": "Picture",
  "poll.new": "New poll",
  "poll.kind": "Kind of poll",
  "poll.kind.single": "One choice",
  "poll.kind.multiple": "Several choices",
  "poll.kind.yes_no": "Yes / No",
  "poll.kind.rating": "Rating",
  "poll.kind.word_cloud": "Word cloud",
  "poll.kind.open_text": "Open answer",
  "poll.question": "Question",
  "poll.options": "Options (one per line)",
  "poll.anonymous": "Anonymous",
  "poll.create": "Create poll",
  "poll.open": "Open for votes",
  "poll.close": "Close voting",
  "poll.show": "Show results to class",
  "poll.hide": "Hide results",
  "poll.status.draft": "Draft",
  "poll.status.open": "Open",
  "poll.status.closed": "Closed",
  "poll.responses": "{n} responses",
  "poll.mean": "Average {n}",
  "poll.none": "No polls yet.",
  "poll.vote": "Send answer",
  "poll.voted": "Your answer was sent. You can change it while the poll is open.",
  "poll.sending": "Sending…",
  "poll.results": "Results",
  "poll.yes": "Yes",
  "poll.no": "No",
  "poll.words": "Up to {n} words",
  "poll.text": "Your answer",
  "poll.chart": "Votes per option",
  "poll.count": "{label}: {n} votes ({pct})",
  "quiz.import": "Import a quiz file (CSV, JSON, YAML or a zip)",
  "quiz.importHint": "Choose the quiz file and its pictures together, or one zip of them.",
  "quiz.chooseOne": "Choose one quiz file (with its pictures), or one zip.",
  "quiz.picture": "The question's picture",
  "quiz.importing": "Reading the quiz file…",
  "quiz.imported": "Quiz \"{title}\" ready: {n} questions.",
  "quiz.none": "No quizzes yet. Import a file.",
  "quiz.start": "Start quiz",
  "quiz.timed": "Timed (points for speed)",
  "quiz.untimed": "Untimed",
  "quiz.next": "Next",
  "quiz.reveal": "Show answer",
  "quiz.skip": "Skip question",
  "quiz.end": "End quiz",
  "quiz.questionOf": "Question {i} of {n}",
  "quiz.timeLeft": "{s} seconds left",
  "quiz.timeUp": "Time is up",
  "quiz.answered": "{n} answered",
  "quiz.correct": "Correct answer: {answer}",
  "quiz.leaderboard": "Leaderboard",
  "quiz.podium": "Winners",
  "quiz.points": "{n} points",
  "quiz.rank": "Place {n}",
  "quiz.yourScore": "Your score: {score}, place {rank} of {players}",
  "quiz.gained": "+{n} points",
  "quiz.unanswered": "You did not answer this one.",
  "quiz.waiting": "Get ready for the next question…",
  "quiz.sent": "Answer sent. Wait for the reveal.",
  "quiz.right": "Correct!",
  "quiz.wrong": "Not this time.",
  "quiz.true": "True",
  "quiz.false": "False",
  "quiz.number": "Your number",
  "quiz.text": "Your answer",
  "quiz.submit": "Answer",
  "quiz.ended": "The quiz has ended.",
  "quiz.status.ready": "Ready",
  "quiz.status.running": "Running",
  "quiz.status.ended": "Ended",
  "reports.polls": "Poll results (CSV)",
  "reports.quiz": "Quiz results: {title} (CSV)",
  "reports.items": "Question analysis: {title} (CSV)",
  "reports.none": "Reports appear after a poll or quiz.",
  "student.raise": "Raise hand",
  "student.lower": "Lower hand",
  "student.mayDraw": "You may draw on the board",
  "student.ended": "The class has ended. Thank you!",
  "student.welcome": "Hello {name}",
  "student.waiting": "Watch the board. Polls and quiz questions appear here.",
  "student.turn": "Turn the tablet on its side for a bigger board.",
  "camera.title": "The classroom board, from the camera",
  "camera.alt": "Camera view of the classroom board",
  "lang.ur": "Urdu",
  "lang.en": "English",
  "lang.other": "Other",
  "subject.urdu": "Urdu",
  "subject.english": "English",
  "subject.maths": "Maths",
  "subject.science": "Science",
  "subject.islamiat": "Islamiat",
  "subject.social_studies": "Social Studies",
  "subject.computer": "Computer",
  "lessons.title": "Recorded lessons",
  "lessons.none": "No lessons yet. Every class you teach is recorded here.",
  "lessons.more": "Show older lessons",
  "lessons.replay": "Replay",
  "lessons.replaySoon": "The replay player opens here.",
  "lessons.notFound": "This lesson was not found.",
  "lessons.gradeN": "Class {n}",
  "lessons.and": ", ",
  "lessons.pages": "Pages: {n}",
  "lessons.polls": "Polls: {n}",
  "lessons.questions": "Quiz questions: {n}",
  "lessons.keyframes": "Board photos: {n}",
  "lessons.audio": "With audio",
  "lessons.noAudio": "No audio",
  "lessons.duration": "Length {time}",
  "lessons.live": "Live now",
  "replay.loading": "Loading the lesson…",
  "replay.forbidden": "Your teacher has not shared this lesson.",
  "replay.play": "Play",
  "replay.pause": "Pause",
  "replay.seek": "Position in the lesson",
  "replay.speed": "Speed",
  "replay.keys": "Keys: Space plays or pauses, ← and → jump 5 seconds, Home and End go to the start and the end.",
  "replay.chapters": "Chapters",
  "replay.kind.page": "Page",
  "replay.kind.poll": "Poll",
  "replay.kind.question": "Quiz question",
  "replay.kind.keyframe": "Board photo",
  "replay.poll": "Poll",
  "replay.results": "Poll results",
  "replay.responses": "Answers: {n}",
  "replay.question": "Question {n} of {total}",
  "replay.camera": "The board as the camera saw it",
  "replay.share": "Share with the class's students",
  "replay.shared": "Students of this class can watch this lesson.",
  "replay.watch": "Watch the lesson again",
  "replay.publish": "Publish in the school's library",
  "replay.published": "Anyone on the school network can watch this lesson in the library.",
  "replay.publishEnded": "End the class first: only an ended lesson can be published.",
  "library.title": "Lesson library",
  "library.intro": "Lessons the teachers of this school published. Anyone on the school network may watch them; no account is needed.",
  "library.search": "Search",
  "library.searchHint": "Words from the title, the description or the board",
  "library.subject": "Subject",
  "library.grade": "Class",
  "library.language": "Language",
  "library.any": "All",
  "library.none": "No lessons found.",
  "library.count": "Lessons: {n}",
  "library.watch": "Watch",
  "library.html": "Offline lesson (lesson.html)",
  "library.mp4": "Video (lesson.mp4)",
  "library.back": "Lesson library",
  "library.busy": "Too many requests; wait a moment and try again.",
  "export.title": "Export",
  "export.formats": "Files to make",
  "export.format.broadcast": "TV master (MOV)",
  "export.format.mxf": "TV MXF",
  "export.format.web": "Web video (HLS + MP4)",
  "export.format.pdf": "Slides (PDF)",
  "export.format.chapters": "Chapters (WebVTT)",
  "export.format.package": "Offline lesson",
  "export.unavailable": "Not available on this server",
  "export.lang": "Language of titles and cards",
  "export.start": "Start export",
  "export.cancel": "Cancel export",
  "export.progress": "Export progress",
  "export.queued": "Waiting for another export to finish…",
  "export.running": "Exporting… {percent}",
  "export.cancelling": "Cancelling…",
  "export.done": "Done. Download the files:",
  "export.cancelled": "The export was cancelled.",
  "export.failed": "The export failed: {message}",
  "export.err.NOTHING_TO_EXPORT": "This lesson has nothing to show yet: nothing was exported.",
  "export.err.DISK_FULL": "The server's disk is full. Free some space and start again.",
  "export.err.INTERRUPTED": "The server restarted during the export. Start it again.",
  "export.err.QC_FAILED": "The files were made but did not pass the broadcast checks: {message}",
  "export.err.NOT_FOUND": "This lesson was not found.",
  "export.video": "Video (MP4)",
  "details.open": "Lesson details",
  "details.heading": "After class: lesson details",
  "details.lessonTitle": "Lesson title",
  "details.subject": "Subject",
  "details.subjectOther": "Other subject",
  "details.grade": "Class (grade)",
  "details.gradeOther": "Other class",
  "details.other": "Other…",
  "details.languages": "Language(s) of the lesson",
  "details.teacherName": "Teacher's name (as viewers see it)",
  "details.school": "School",
  "details.description": "Short description",
  "details.trimStart": "Recording starts at",
  "details.trimEnd": "Recording ends at",
  "details.trimHint": "minutes:seconds; empty = from the beginning",
  "details.length": "The lesson is {time} long; empty = to the end",
  "details.save": "Save details",
  "details.saved": "Lesson details saved.",
  "details.errRange": "{field} must lie inside the lesson.",
  "details.errField": "Please check “{field}”: it is too long or has characters that are not allowed.",
  "details.errClock": "Write {field} as minutes:seconds, e.g. 2:30.",
  "present.open": "Big screen",
  "present.title": "Shown on the big screen",
  "present.answered": "{n} answered",
  "present.answeredOf": "{n} of {m} answered",
  "poll.ratingEnds": "{min} = not at all, {max} = very much",
  "poll.maxWords": "Words per student",
  "poll.tooManyWords": "At most {n} words, please: you wrote {m}.",
  "lobby.count": "{n} joined",
  "lobby.none": "Waiting for students to join…",
  "quiz.endConfirm": "End the quiz now? The questions not yet asked are left out.",
  "quiz.showPodium": "Show the winners",
  "console.foldPanel": "Fold the side panel away",
  "console.unfoldPanel": "Open the side panel",
  "poll.pickAnswers": "Tick the answers to show the class",
  "quiz.titleLabel": "Quiz title",
  "quiz.saveTitle": "Save title",
  "quiz.titleSaved": "Title saved: \"{title}\"",
  "roster.rename": "Rename",
  "roster.renameOf": "Rename {name}",
  "roster.newName": "New name",
  "roster.save": "Save name",
  "roster.remove": "Remove",
  "roster.removeOf": "Remove {name}",
  "roster.removeConfirm": "Remove {name} from the class? Their tablet is disconnected and cannot come back in as them. Their answers stay in the reports.",
  "student.renamed": "The teacher changed your name to {name}.",
  "error.NAME_TAKEN": "Another student in this class already has this name.",
  "error.STUDENT_REMOVED": "The teacher removed you from this class. Ask the teacher before joining again.",
} as const;

export type Key = keyof typeof en;

/** The tables by language. Urdu is filled in by ``applyLang("ur")`` (its own chunk); until then it
 * falls back to English. */
export const STRINGS: Record<Lang, Record<Key, string>> = { en, ur: en };
let urduLoaded = false;

/** Load the Urdu strings (once) into ``STRINGS.ur``. */
export async function loadUrdu(): Promise<void> {
  if (urduLoaded) return;
  STRINGS.ur = (await import("./i18n-ur")).ur;
  urduLoaded = true;
}


const STORE_KEY = "takhti.lang";
let lang: Lang = pickLang();

function pickLang(): Lang {
  try {
    const saved = localStorage.getItem(STORE_KEY);
    if (saved === "en" || saved === "ur") return saved;
  } catch {
    /* storage blocked */
  }
  return typeof navigator !== "undefined" && navigator.language?.toLowerCase().startsWith("ur") ? "ur" : "en";
}

export function getLang(): Lang {
  return lang;
}

/** The string ``key`` in the current language with ``{name}`` placeholders filled in. */
export function t(key: Key, params: Record<string, string | number> = {}): string {
  const template = STRINGS[lang][key] ?? en[key] ?? key;
  return template.replace(/\{(\w+)\}/g, (_, name: string) => {
    const value = params[name];
    if (value === undefined) return `{${name}}`;
    return typeof value === "number" ? fmtNumber(value) : value;
  });
}

export function locale(l: Lang = lang): string {
  // Urdu in Pakistan with Urdu (Eastern Arabic) digits; English with Pakistani conventions.
  return l === "ur" ? "ur-PK-u-nu-arabext" : "en-PK";
}

export function fmtNumber(n: number, options: Intl.NumberFormatOptions = {}): string {
  return new Intl.NumberFormat(locale(), options).format(n);
}

export function fmtPercent(fraction: number): string {
  return fmtNumber(fraction, { style: "percent", maximumFractionDigits: 0 });
}

export function fmtDate(ms: number): string {
  return fmtDateIn(lang, ms);
}

export function fmtDateIn(l: Lang, ms: number): string {
  // Urdu: a 24-hour clock, since the Urdu locale data writes a Latin "AM"/"PM".
  const hours: Intl.DateTimeFormatOptions = l === "ur" ? { hourCycle: "h23" } : {};
  return new Intl.DateTimeFormat(locale(l), { dateStyle: "medium", timeStyle: "short", ...hours }).format(new Date(ms));
}

/** Between the parts of a line: the language's comma. A middle dot reads as an Urdu zero
 * ("۳,۹۰۲ · ۲" reads as "۳۰۳,۹۰۲"). */
export function sep(): string {
  return t("lessons.and");
}

/** Apply the language to the document: lang, dir, and the Urdu font (fetched only for Urdu,
 * and waited for). ``font: false`` leaves the font to the caller (the library fetches it when
 * the line is free, src/library/page.ts). */
export async function applyLang(next: Lang = lang, options: { font?: boolean } = {}): Promise<void> {
  let keep = true;
  if (next === "ur") {
    try {
      await loadUrdu();
    } catch {
      // The Urdu strings did not arrive (a dropped link): English this time, not a blank
      // page; the choice of Urdu is kept for the next load.
      next = "en";
      keep = false;
    }
  }
  lang = next;
  try {
    if (keep) localStorage.setItem(STORE_KEY, next);
  } catch {
    /* storage blocked */
  }
  const root = document.documentElement;
  root.lang = next;
  root.dir = next === "ur" ? "rtl" : "ltr";
  document.title = STRINGS[next]["app.name"];
  if (next === "ur" && options.font !== false) {
    await import("./urdu-font").catch(() => undefined);
    await document.fonts?.load('1em "Noto Nastaliq Urdu"', "اردو").catch(() => undefined);
  }
}

function errorParts(err: unknown): { code: string | null; message: string; field: string } {
  if (err && typeof err === "object") {
    const e = err as { code?: unknown; message?: unknown; field?: unknown; body?: { code?: unknown; message?: unknown; field?: unknown } };
    if (e.body && typeof e.body.code === "string") return { code: e.body.code, message: String(e.body.message ?? ""), field: String(e.body.field ?? "") };
    if (typeof e.code === "string" && /^[A-Z_]+$/.test(e.code)) return { code: e.code, message: String(e.message ?? ""), field: String(e.field ?? "") };
    if (typeof e.message === "string") return { code: null, message: e.message, field: "" };
  }
  return { code: null, message: String(err ?? ""), field: "" };
}

/** Codes whose words name what the error's ``field`` names (a picture's file name), in
 * both languages: the name is the teacher's own, not English. */
export const NAMED_ERRORS: ReadonlySet<string> = new Set(["PICTURE_MISSING", "PICTURE_UNREADABLE"]);

/** What to show for an error, in the user's language. The server's stable code picks the
 * words (its message is English: shown as it is only in the English UI); an error that never
 * reached the server (no connection, a timeout) says so. */
export function errorText(err: unknown, l: Lang = lang): string {
  const { code, message, field } = errorParts(err);
  const say = (key: Key, params: Record<string, string> = {}): string =>
    (STRINGS[l][key] ?? en[key]).replace(/\{(\w+)\}/g, (_, name: string) => params[name] ?? "");
  if (code !== null && NAMED_ERRORS.has(code)) return say(`error.${code}` as Key, { name: field });
  if (l === "en" && message && code !== null) return say("common.error", { message });
  if (code === null) {
    if (/fetch|network|offline|time(d)? ?out/i.test(message)) return say("error.network");
    return l === "en" && message ? say("common.error", { message }) : say("error.unknown");
  }
  const key = `error.${code}` as Key;
  return key in en ? say(key) : say("error.unknown");
}
