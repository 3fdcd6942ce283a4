import { describe, expect, it } from "vitest";
import { BOARD_HEIGHT, BOARD_WIDTH } from "../src/board/model";
import { MIN_WRAP_WIDTH, placeText, TEXT_MARGIN, textDir, wrapText } from "../src/board/place";

// A fixed-pitch measure: 20 board units a character at this size.
const measure = (line: string): number => line.length * 20;
const SIZE = 40;
const LH = 1.25;

describe("textDir", () => {
  it("takes the first strong character", () => {
    expect(textDir("سلام")).toBe("rtl");
    expect(textDir("12 سلام")).toBe("rtl");
    expect(textDir("Salam سلام")).toBe("ltr");
    expect(textDir("123")).toBe("ltr");
    // Urdu digits are weak, as for the server: the first letter decides.
    expect(textDir("۵ apples")).toBe("ltr");
    expect(textDir("۵ سیب")).toBe("rtl");
    expect(textDir("؟ why")).toBe("rtl");
  });
});

describe("wrapText", () => {
  it("breaks at spaces to the width and keeps typed breaks", () => {
    expect(wrapText("aaaa bbbb cccc", 200, measure)).toEqual(["aaaa bbbb", "cccc"]);
    expect(wrapText("aa\nbb", 1000, measure)).toEqual(["aa", "bb"]);
    expect(wrapText("x".repeat(30), 200, measure)).toEqual(["x".repeat(30)]);
  });
});

describe("placeText", () => {
  it("Urdu grows leftwards from the tap: the tap is the right end", () => {
    const p = placeText("یہ ایک جملہ ہے", 1500, 300, SIZE, LH, measure);
    expect(p.dir).toBe("rtl");
    expect(p.x).toBe(1500);
    expect(p.y).toBe(300);
  });

  it("Urdu tapped near the left edge moves right to stay on the board", () => {
    const p = placeText("پاکستان زندہ باد", 50, 300, SIZE, LH, measure);
    expect(p.x - p.width).toBeGreaterThanOrEqual(TEXT_MARGIN);
    expect(p.x).toBeLessThanOrEqual(BOARD_WIDTH - TEXT_MARGIN);
  });

  it("English near the right edge moves left; long text wraps inside the board", () => {
    const long = Array.from({ length: 40 }, () => "word").join(" ");
    const p = placeText(long, 1800, 300, SIZE, LH, measure);
    expect(p.dir).toBe("ltr");
    expect(p.x + p.width).toBeLessThanOrEqual(BOARD_WIDTH - TEXT_MARGIN);
    expect(p.width).toBeGreaterThanOrEqual(MIN_WRAP_WIDTH - 100);
    for (const line of p.text.split("\n")) expect(measure(line)).toBeLessThanOrEqual(BOARD_WIDTH - 2 * TEXT_MARGIN);
  });

  it("long Urdu wraps into the room left of the tap", () => {
    const long = Array.from({ length: 30 }, () => "لفظ").join(" ");
    const p = placeText(long, 1200, 100, SIZE, LH, measure);
    expect(p.x).toBe(1200);
    expect(p.width).toBeLessThanOrEqual(1200 - TEXT_MARGIN);
    expect(p.text.split("\n").length).toBeGreaterThan(1);
  });

  it("never makes more lines than the server keeps", () => {
    const typed = Array.from({ length: 20 }, (_, i) => (i === 0 ? "word ".repeat(200).trim() : "x")).join("\n");
    const p = placeText(typed, 400, 100, SIZE, LH, measure);
    expect(p.text.split("\n").length).toBeLessThanOrEqual(20);
  });

  it("text tapped at the bottom moves up so its last line is on the board", () => {
    const p = placeText("one\ntwo\nthree", 400, BOARD_HEIGHT - 10, SIZE, LH, measure);
    expect(p.y + 3 * SIZE * LH).toBeLessThanOrEqual(BOARD_HEIGHT - TEXT_MARGIN);
  });
});
