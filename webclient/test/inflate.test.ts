import { gzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { gunzip } from "../src/package/inflate";

function seeded(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

// Lesson-like JSON (repetitive, with Urdu), random bytes (stored blocks) and short inputs.
function samples(): Uint8Array[] {
  const rnd = seeded(7);
  const events = Array.from({ length: 3000 }, (_, i) => ({ seq: i, type: "stroke_extended", data: { id: `st${i % 50}`, points: [[rnd() * 1920, rnd() * 1080, 0.5, i * 16]] }, title: "کسریں" }));
  const json = new TextEncoder().encode(JSON.stringify(events));
  const random = Uint8Array.from({ length: 200_000 }, () => Math.floor(rnd() * 256));
  const runs = new Uint8Array(100_000).fill(97);
  return [json, random, runs, new Uint8Array(0), new TextEncoder().encode("a"), new TextEncoder().encode("</script>".repeat(1000))];
}

describe("gunzip (the package's fallback when the browser has no DecompressionStream)", () => {
  for (const level of [0, 1, 6, 9]) {
    it(`reads back what zlib wrote at level ${level}`, () => {
      for (const sample of samples()) {
        const packed = new Uint8Array(gzipSync(sample, { level }));
        expect(Buffer.from(gunzip(packed)).equals(Buffer.from(sample))).toBe(true);
      }
    });
  }

  it("refuses what is not gzip and a truncated file", () => {
    const packed = new Uint8Array(gzipSync(samples()[0]!));
    expect(() => gunzip(new TextEncoder().encode("not gzip, just some text here"))).toThrow(/not gzip/);
    const cut = packed.slice(0, packed.length >> 1);
    expect(() => gunzip(cut)).toThrow();
  });
});
