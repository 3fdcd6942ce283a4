/** Build plugins shared by the app's and the library's Vite configs. */
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { brotliCompressSync, constants as zlib, gzipSync } from "node:zlib";
import type { Plugin } from "vite";

/**
 * Write a `.br` and a `.gz` twin of every text file of the build (the server sends the one the
 * browser accepts: aiohttp's FileResponse looks for them), once, at build time, at the highest
 * levels: a tablet on a 64 kbit/s link gets about a quarter of the bytes. Runs after every
 * other plugin has written its files (sw.js). A file whose twins are newer than it is left as
 * it is (a second build into the same folder compresses only its own files).
 */
export function precompress(): Plugin {
  const TEXT = /\.(js|mjs|css|html|svg|json|txt|webmanifest)$/;
  const walk = (dir: string): string[] =>
    readdirSync(dir).flatMap((name) => {
      const path = join(dir, name);
      return statSync(path).isDirectory() ? walk(path) : [path];
    });
  const fresh = (path: string, twin: string): boolean => existsSync(twin) && statSync(twin).mtimeMs >= statSync(path).mtimeMs;
  let outDir = "";
  return {
    name: "takhti-precompress",
    apply: "build",
    writeBundle(options) {
      outDir = options.dir!;
    },
    closeBundle: {
      sequential: true,
      order: "post",
      handler() {
        if (!outDir) return; // the build failed before writing
        for (const path of walk(outDir)) {
          if (!TEXT.test(path) || (fresh(path, `${path}.gz`) && fresh(path, `${path}.br`))) continue;
          const data = readFileSync(path);
          writeFileSync(`${path}.gz`, gzipSync(data, { level: 9 }));
          writeFileSync(`${path}.br`, brotliCompressSync(data, { params: { [zlib.BROTLI_PARAM_QUALITY]: 11, [zlib.BROTLI_PARAM_SIZE_HINT]: data.length } }));
        }
      },
    },
  };
}

// A string table's line: `  "group.name": "text",` (one entry a line, as the tables are kept).
const ENTRY = /^\s*"([^"]+)":\s.*$/;
// Where a table starts and ends in src/i18n.ts and src/i18n-ur.ts.
const TABLE_START = /^(const en = \{|export const ur: Record<Key, string> = \{)$/;
const TABLE_END = /^\}( as const)?;$/;
// What a key looks like where code names one: "replay.play", or `replay.kind.${kind}` (every
// key starting "replay.kind.").
const KEY_LITERAL = /"([a-z][A-Za-z]*\.[A-Za-z0-9_.-]+)"/g;
const KEY_PREFIX = /`([a-z][A-Za-z]*\.[A-Za-z0-9_.-]*)\$\{/g;
const IMPORT = /(?:\bfrom\s*|\bimport\s*\(?\s*)"(\.{1,2}\/[^"]+)"/g;

/** Each line of ``source``, and whether it is an entry of its string table (between the
 * table's first and last lines). */
function tableEntries(source: string): [string, boolean][] {
  let inTable = false;
  return source.split("\n").map((line) => {
    if (TABLE_START.test(line)) inTable = true;
    else if (inTable && TABLE_END.test(line)) inTable = false;
    else return [line, inTable];
    return [line, false];
  });
}

/** The source's lines outside its string table (the table names every key: not a use). */
function codeOf(source: string): string {
  return tableEntries(source)
    .filter(([, entry]) => !entry)
    .map(([line]) => line)
    .join("\n");
}

/**
 * Keep in the string tables only the keys the entry's code can show: every module the entry
 * imports (statically or not, following relative imports of .ts files) is read, and a key
 * stays when the code names it, whole or as the start of a template. The library's pages then
 * carry a few KB of words, not the whole app's. Fails the build when a table line is not one
 * entry, so a table written another way cannot lose words silently.
 */
export function pruneStrings(entry: string): Plugin {
  const tables = new Set(["i18n.ts", "i18n-ur.ts"].map((name) => resolve(dirname(entry), "..", name)));
  const names = new Set<string>();
  const prefixes = new Set<string>();
  const used = (key: string): boolean => names.has(key) || [...prefixes].some((p) => key.startsWith(p));
  return {
    name: "takhti-prune-strings",
    enforce: "pre",
    buildStart() {
      const todo = [resolve(entry)];
      const seen = new Set<string>();
      while (todo.length) {
        const file = todo.pop()!;
        if (seen.has(file)) continue;
        seen.add(file);
        // Types are not code: `import type` brings no strings (and no module) along.
        const code = codeOf(readFileSync(file, "utf8")).replace(/^\s*(?:import|export)\s+type\b[^;]*;/gm, "");
        for (const m of code.matchAll(KEY_LITERAL)) names.add(m[1]!);
        for (const m of code.matchAll(KEY_PREFIX)) prefixes.add(m[1]!);
        for (const m of code.matchAll(IMPORT)) {
          const target = resolve(dirname(file), m[1]!);
          for (const candidate of [target, `${target}.ts`, join(target, "index.ts")]) {
            if (candidate.endsWith(".ts") && existsSync(candidate)) {
              todo.push(candidate);
              break;
            }
          }
        }
      }
      for (const table of tables) if (!seen.has(table)) this.error(`${entry} does not reach ${table}`);
    },
    transform(source, id) {
      const file = id.split("?")[0]!;
      if (!tables.has(file)) return null;
      let kept = 0;
      let dropped = 0;
      const lines = tableEntries(source)
        .filter(([line, entry], n) => {
          if (!entry) return true;
          const key = ENTRY.exec(line)?.[1];
          if (key === undefined) this.error(`${file}:${n + 1}: not one "key": "text" entry`);
          if (used(key)) kept++;
          else dropped++;
          return used(key);
        })
        .map(([line]) => line);
      if (!kept) this.error(`${file}: no string table found`);
      this.info(`${file.split("/").pop()}: ${kept} strings kept, ${dropped} left out`);
      return { code: lines.join("\n"), map: null };
    },
  };
}
