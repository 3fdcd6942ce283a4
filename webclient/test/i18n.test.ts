import { describe, expect, it } from "vitest";
import { ERROR_CODES } from "../src/net/protocol.gen";
import { errorText, fmtDateIn, NAMED_ERRORS, STRINGS } from "../src/i18n";
import { ur } from "../src/i18n-ur";

STRINGS.ur = ur;

describe("strings", () => {
  it("every English string has an Urdu translation with the same placeholders", () => {
    const placeholders = (s: string) => [...s.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();
    for (const [key, english] of Object.entries(STRINGS.en)) {
      const urdu = STRINGS.ur[key as keyof typeof STRINGS.ur];
      expect(urdu, key).toBeTruthy();
      expect(placeholders(urdu), key).toEqual(placeholders(english));
    }
  });
});

describe("what Urdu readers see", () => {
  it("no string puts a middle dot between parts (it reads as an Urdu zero)", () => {
    for (const table of [STRINGS.en, STRINGS.ur]) {
      for (const [key, text] of Object.entries(table)) expect(text.includes("·"), key).toBe(false);
    }
  });

  it("dates in Urdu have Urdu digits and no Latin AM or PM; the separator is the Urdu comma", () => {
    const afternoon = Date.UTC(2026, 11, 2, 9, 5); // 14:05 in Pakistan
    const urdu = fmtDateIn("ur", afternoon);
    expect(urdu).not.toMatch(/[A-Za-z]/);
    expect(urdu).toMatch(/[۰-۹]/);
    expect(fmtDateIn("en", afternoon)).toMatch(/\d/);
    expect(STRINGS.ur["lessons.and"]).toBe("، ");
  });
});

describe("server errors in the user's language", () => {
  it("every error code the server may send has words in both languages", () => {
    for (const code of ERROR_CODES) {
      expect(STRINGS.en[`error.${code}` as keyof typeof STRINGS.en], code).toBeTruthy();
      expect(STRINGS.ur[`error.${code}` as keyof typeof STRINGS.ur], code).toBeTruthy();
    }
  });

  it("the Urdu UI never shows the server's English message", () => {
    const latin = /[A-Za-z]/;
    for (const code of ERROR_CODES) {
      const field = NAMED_ERRORS.has(code) ? "نقشہ.png" : "option";
      const shown = errorText({ code, message: "option 5 is not between 0 and 3", field }, "ur");
      // A picture's file name is the teacher's own words; nothing else may be Latin.
      expect(shown.replace(field, ""), code).not.toMatch(latin);
      const words = STRINGS.ur[`error.${code}` as keyof typeof STRINGS.ur];
      expect(shown, code).toBe(words.replace("{name}", field));
    }
    // A missing picture is named in both languages (HTTP body or socket ack alike).
    const missing = { status: 400, body: { code: "PICTURE_MISSING", message: "question 7 shows circle.png", field: "circle.png" } };
    expect(errorText(missing, "ur")).toContain("circle.png");
    expect(errorText(missing, "en")).toContain("\u201ccircle.png\u201d");
    expect(errorText(missing, "ur")).not.toBe(errorText(missing, "en"));
    // HTTP errors (the body carries the code), a lost connection, an unknown new code.
    expect(errorText({ status: 404, body: { code: "NOT_FOUND", message: "no such class" } }, "ur")).toBe(STRINGS.ur["error.NOT_FOUND"]);
    expect(errorText(new TypeError("Failed to fetch"), "ur")).toBe(STRINGS.ur["error.network"]);
    expect(errorText({ code: "SOMETHING_NEW", message: "x" }, "ur")).toBe(STRINGS.ur["error.unknown"]);
    // English keeps the server's precise message.
    expect(errorText({ code: "INVALID_PAYLOAD", message: "option 5 is not between 0 and 3" }, "en")).toContain("option 5");
  });
});
