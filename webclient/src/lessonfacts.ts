/** A lesson's facts as people read them (subject, grade, length): shared by the teacher's
 * lessons page and the public library, which must not load the teacher's code. */
import { fmtNumber, t, type Key } from "./i18n";

// The server's lists (classroom/lessons.py SUBJECTS, GRADES); anything else is the teacher's own words.
export const SUBJECTS = ["urdu", "english", "maths", "science", "islamiat", "social_studies", "computer"] as const;
export const GRADES = Array.from({ length: 12 }, (_, i) => String(i + 1));
export const LANGUAGES = ["ur", "en", "other"] as const;

export function subjectLabel(subject: string): string {
  return (SUBJECTS as readonly string[]).includes(subject) ? t(`subject.${subject}` as Key) : subject;
}

export function gradeLabel(grade: string): string {
  return GRADES.includes(grade) ? t("lessons.gradeN", { n: Number(grade) }) : grade;
}

/** ``m:ss`` (or ``h:mm:ss``) of a length in milliseconds, in the page's digits. */
export function fmtClock(ms: number): string {
  const total = Math.floor(ms / 1000);
  const hours = Math.floor(total / 3600);
  const minutes = Math.floor((total % 3600) / 60);
  const seconds = total % 60;
  const two = (n: number): string => fmtNumber(n, { minimumIntegerDigits: 2, useGrouping: false });
  return hours ? `${fmtNumber(hours)}:${two(minutes)}:${two(seconds)}` : `${fmtNumber(minutes)}:${two(seconds)}`;
}

const URDU_DIGITS = "۰۱۲۳۴۵۶۷۸۹";

/** A trim point typed as ``m:ss``, ``h:mm:ss`` or seconds (Urdu digits too); null when empty; NaN when unreadable. */
export function parseClock(raw: string): number | null {
  const text = raw.trim().replace(/[۰-۹]/g, (d) => String(URDU_DIGITS.indexOf(d)));
  if (!text) return null;
  if (!/^\d{1,5}(:\d{1,2}){0,2}$/.test(text)) return NaN;
  const parts = text.split(":").map(Number);
  if (parts.slice(1).some((p) => p > 59)) return NaN;
  return parts.reduce((acc, p) => acc * 60 + p, 0) * 1000;
}
