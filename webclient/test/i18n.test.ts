import { describe, expect, it } from "vitest";
import { fmtDateIn, STRINGS } from "../src/i18n";

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
