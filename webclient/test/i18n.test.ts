import { describe, expect, it } from "vitest";
import { STRINGS } from "../src/i18n";

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
