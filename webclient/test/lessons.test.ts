import { describe, expect, it } from "vitest";
import { STRINGS } from "../src/i18n";
import { ur } from "../src/i18n-ur";

STRINGS.ur = ur;
import { fmtClock, GRADES, parseClock, SUBJECTS } from "../src/teacher/lessons";

describe("lesson trim points", () => {
  it("reads minutes:seconds as a teacher types them, Urdu digits too", () => {
    expect(parseClock("2:30")).toBe(150_000);
    expect(parseClock(" 90 ")).toBe(90_000);
    expect(parseClock("1:02:03")).toBe(3_723_000);
    expect(parseClock("۲:۳۰")).toBe(150_000);
    expect(parseClock("")).toBeNull();
    expect(parseClock("2:75")).toBeNaN();
    expect(parseClock("two")).toBeNaN();
    expect(parseClock("-1")).toBeNaN();
  });

  it("writes a length back in the same form", () => {
    expect(fmtClock(150_999)).toBe("2:30");
    expect(fmtClock(3_723_000)).toBe("1:02:03");
    expect(parseClock(fmtClock(150_000))).toBe(150_000);
  });
});

describe("subjects", () => {
  it("every subject the server knows has a label in both languages", () => {
    for (const subject of SUBJECTS) {
      expect(STRINGS.en[`subject.${subject}` as keyof typeof STRINGS.en], subject).toBeTruthy();
      expect(STRINGS.ur[`subject.${subject}` as keyof typeof STRINGS.ur], subject).toBeTruthy();
    }
    expect(GRADES).toHaveLength(12);
  });
});
