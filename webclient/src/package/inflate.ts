/**
 * gunzip for browsers without ``DecompressionStream`` (Safari before 16.4, Firefox before 113,
 * old Android WebViews): a plain DEFLATE decoder (RFC 1951 inside RFC 1952's gzip frame).
 *
 * Huffman codes are decoded through one lookup table per code (indexed by the next
 * ``maxBits`` input bits, LSB first, so by the bit-reversed code): one table read per symbol.
 * The output is preallocated from the gzip trailer's size.
 */

const LENGTH_BASE = [3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258];
const LENGTH_EXTRA = [0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0];
const DIST_BASE = [1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577];
const DIST_EXTRA = [0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13];
const CODE_LENGTH_ORDER = [16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15];

interface Code {
  table: Int32Array; // (symbol << 4) | length; -1 where no code
  bits: number;
}

/** A canonical Huffman code from its code lengths (0: the symbol is unused). */
function buildCode(lengths: ArrayLike<number>): Code {
  let bits = 1;
  const count = new Array<number>(16).fill(0);
  for (let i = 0; i < lengths.length; i++) {
    const l = lengths[i]!;
    count[l]!++;
    if (l > bits) bits = l;
  }
  count[0] = 0;
  const next = new Array<number>(16).fill(0);
  let code = 0;
  for (let l = 1; l < 16; l++) {
    code = (code + count[l - 1]!) << 1;
    next[l] = code;
  }
  const table = new Int32Array(1 << bits).fill(-1);
  for (let symbol = 0; symbol < lengths.length; symbol++) {
    const l = lengths[symbol]!;
    if (!l) continue;
    const c = next[l]!++;
    let reversed = 0;
    for (let i = 0; i < l; i++) reversed |= ((c >> i) & 1) << (l - 1 - i);
    for (let i = reversed; i < table.length; i += 1 << l) table[i] = (symbol << 4) | l;
  }
  return { table, bits };
}

let fixedLit: Code | null = null;
let fixedDist: Code | null = null;

function fixedCodes(): [Code, Code] {
  if (!fixedLit || !fixedDist) {
    const lit = new Array<number>(288);
    for (let i = 0; i < 288; i++) lit[i] = i < 144 ? 8 : i < 256 ? 9 : i < 280 ? 7 : 8;
    fixedLit = buildCode(lit);
    fixedDist = buildCode(new Array<number>(30).fill(5));
  }
  return [fixedLit, fixedDist];
}

/** Raw DEFLATE ``data`` into a buffer of ``size`` bytes (the size must be known). */
export function inflate(data: Uint8Array, size: number): Uint8Array {
  // DEFLATE expands at most 1032:1: a larger size is a damaged trailer, not a big lesson.
  if (size > data.length * 1032 + 1024) throw new Error("corrupt data: impossible size");
  const out = new Uint8Array(size);
  let at = 0;
  let pos = 0;
  let bitBuf = 0;
  let bitCount = 0;

  const need = (n: number): void => {
    while (bitCount < n) {
      // Past the end reads zeros (a code near the end peeks more bits than it uses), but only
      // a few bytes of them: a cut file fails instead of decoding zeros.
      if (pos >= data.length + 4) throw new Error("corrupt data: ran past the end");
      bitBuf |= (pos < data.length ? data[pos]! : 0) << bitCount;
      pos++;
      bitCount += 8;
    }
  };
  const bits = (n: number): number => {
    if (n === 0) return 0;
    need(n);
    const value = bitBuf & ((1 << n) - 1);
    bitBuf >>>= n;
    bitCount -= n;
    return value;
  };
  const decode = (code: Code): number => {
    need(code.bits);
    const entry = code.table[bitBuf & ((1 << code.bits) - 1)]!;
    if (entry < 0) throw new Error("corrupt data: no such code");
    const l = entry & 15;
    bitBuf >>>= l;
    bitCount -= l;
    return entry >> 4;
  };

  for (;;) {
    const last = bits(1);
    const type = bits(2);
    if (type === 0) {
      // Stored: from the next byte boundary (whole bytes already in the bit buffer are given
      // back), LEN and NLEN, then LEN bytes as they are.
      pos -= bitCount >> 3;
      bitBuf = 0;
      bitCount = 0;
      const len = data[pos]! | (data[pos + 1]! << 8);
      pos += 4;
      if (pos + len > data.length || at + len > size) throw new Error("corrupt data: stored block");
      out.set(data.subarray(pos, pos + len), at);
      pos += len;
      at += len;
    } else {
      let lit: Code;
      let dist: Code;
      if (type === 1) [lit, dist] = fixedCodes();
      else if (type === 2) {
        const nLit = bits(5) + 257;
        const nDist = bits(5) + 1;
        const nLen = bits(4) + 4;
        const lengthLengths = new Array<number>(19).fill(0);
        for (let i = 0; i < nLen; i++) lengthLengths[CODE_LENGTH_ORDER[i]!] = bits(3);
        const lengthCode = buildCode(lengthLengths);
        const lengths: number[] = [];
        while (lengths.length < nLit + nDist) {
          const symbol = decode(lengthCode);
          if (symbol < 16) lengths.push(symbol);
          else if (symbol === 16) {
            const previous = lengths[lengths.length - 1];
            if (previous === undefined) throw new Error("corrupt data: repeat with nothing before");
            for (let n = 3 + bits(2); n > 0; n--) lengths.push(previous);
          } else for (let n = symbol === 17 ? 3 + bits(3) : 11 + bits(7); n > 0; n--) lengths.push(0);
        }
        lit = buildCode(lengths.slice(0, nLit));
        dist = buildCode(lengths.slice(nLit, nLit + nDist));
      } else throw new Error("corrupt data: block type 3");
      for (;;) {
        const symbol = decode(lit);
        if (symbol < 256) {
          if (at >= size) throw new Error("corrupt data: longer than said");
          out[at++] = symbol;
        } else if (symbol === 256) break;
        else {
          const i = symbol - 257;
          if (i >= 29) throw new Error("corrupt data: length code");
          const length = LENGTH_BASE[i]! + bits(LENGTH_EXTRA[i]!);
          const d = decode(dist);
          if (d >= 30) throw new Error("corrupt data: distance code");
          const distance = DIST_BASE[d]! + bits(DIST_EXTRA[d]!);
          if (distance > at || at + length > size) throw new Error("corrupt data: copy out of range");
          for (let k = 0; k < length; k++, at++) out[at] = out[at - distance]!;
        }
      }
    }
    if (last) break;
  }
  if (at !== size) throw new Error("corrupt data: shorter than said");
  return out;
}

/** The bytes inside a gzip file (one member, as Python's gzip.compress writes). */
export function gunzip(data: Uint8Array): Uint8Array {
  if (data.length < 18 || data[0] !== 0x1f || data[1] !== 0x8b || data[2] !== 8) throw new Error("not gzip data");
  const flags = data[3]!;
  let pos = 10;
  if (flags & 4) pos += 2 + (data[pos]! | (data[pos + 1]! << 8));
  if (flags & 8) while (data[pos++] !== 0 && pos < data.length);
  if (flags & 16) while (data[pos++] !== 0 && pos < data.length);
  if (flags & 2) pos += 2;
  const end = data.length - 8;
  const size = (data[end + 4]! | (data[end + 5]! << 8) | (data[end + 6]! << 16) | (data[end + 7]! << 24)) >>> 0;
  return inflate(data.subarray(pos, end), size);
}
