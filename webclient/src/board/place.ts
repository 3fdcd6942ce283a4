/**
 * Where a typed text goes on the board (issue 15.4): it grows from where the teacher tapped, in
 * its own direction (Urdu right to left, English left to right), is wrapped at spaces to the
 * room there is, and is moved just enough to stay wholly on the board.
 */
import { MAX_TEXT_LINES } from "../net/protocol.gen";
import { BOARD_HEIGHT, BOARD_WIDTH } from "./model";

/** Board units kept clear along every edge. */
export const TEXT_MARGIN = 24;
/** A text is never wrapped narrower than this (or its longest word): a tap near an edge does
 * not make a one-word column; the text moves inwards instead. */
export const MIN_WRAP_WIDTH = 480;

const RTL_SCRIPT = /[\p{Script=Arabic}\p{Script=Hebrew}\p{Script=Syriac}\p{Script=Thaana}\p{Script=Nko}]/u;
const LETTER = /\p{L}/u;
// Arabic punctuation of bidi class AL (؛ ؟ ۔): strong right-to-left, as for the server.
const RTL_PUNCTUATION = "\u061b\u061f\u06d4";

/** The direction of a text from its first strong character, as the server decides it
 * (classroom/board.py ``text_direction``): letters, not digits; Urdu digits are weak. */
export function textDir(text: string): "ltr" | "rtl" {
  for (const ch of text) {
    if (RTL_PUNCTUATION.includes(ch)) return "rtl";
    if (!LETTER.test(ch)) continue;
    return RTL_SCRIPT.test(ch) ? "rtl" : "ltr";
  }
  return "ltr";
}

export type Measure = (line: string) => number;

/** Break each line of ``text`` at spaces so no line is wider than ``maxWidth`` (a single word
 * wider than that keeps its own line). Line breaks the teacher typed are kept. */
export function wrapText(text: string, maxWidth: number, measure: Measure): string[] {
  const out: string[] = [];
  for (const typed of text.split("\n")) {
    const words = typed.split(/ +/).filter((w) => w.length > 0);
    let line = "";
    for (const word of words) {
      const next = line ? `${line} ${word}` : word;
      if (line && measure(next) > maxWidth) {
        out.push(line);
        line = word;
      } else {
        line = next;
      }
    }
    out.push(line);
  }
  return out;
}

export interface Placed {
  text: string;
  x: number;
  y: number;
  dir: "ltr" | "rtl";
  width: number;
  height: number;
}

/**
 * Place ``text`` typed after a tap at ``(tapX, tapY)`` (board units): ``x`` is where each line
 * starts (its right end for right-to-left text), ``y`` the top of the first line.
 * ``lineHeight`` is the line pitch in font sizes, as the renderer draws it.
 */
export function placeText(text: string, tapX: number, tapY: number, size: number, lineHeight: number, measure: Measure): Placed {
  const dir = textDir(text);
  const widest = Math.max(...text.split(/\s+/).map(measure), 0);
  const board = BOARD_WIDTH - 2 * TEXT_MARGIN;
  const room = dir === "rtl" ? tapX - TEXT_MARGIN : BOARD_WIDTH - TEXT_MARGIN - tapX;
  const wrapAt = Math.min(board, Math.max(room, MIN_WRAP_WIDTH, widest));
  let lines = wrapText(text, wrapAt, measure);
  // More lines than the server keeps: use the board's whole width rather than be refused, or
  // the lines as typed when even that is too many.
  if (lines.length > MAX_TEXT_LINES) lines = wrapText(text, board, measure);
  if (lines.length > MAX_TEXT_LINES) lines = text.split("\n");
  const width = Math.min(board, Math.max(...lines.map(measure), 0));
  const height = lines.length * size * lineHeight;
  const x = dir === "rtl"
    ? clamp(tapX, TEXT_MARGIN + width, BOARD_WIDTH - TEXT_MARGIN)
    : clamp(tapX, TEXT_MARGIN, BOARD_WIDTH - TEXT_MARGIN - width);
  const y = clamp(tapY, TEXT_MARGIN, Math.max(TEXT_MARGIN, BOARD_HEIGHT - TEXT_MARGIN - height));
  return { text: lines.join("\n"), x, y, dir, width, height };
}

function clamp(v: number, lo: number, hi: number): number {
  return Math.min(Math.max(v, lo), Math.max(lo, hi));
}
