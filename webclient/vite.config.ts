/// <reference types="vitest/config" />
import { createHash } from "node:crypto";
import { readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { brotliCompressSync, constants as zlib, gzipSync } from "node:zlib";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { build as esbuildLike, defineConfig, type Plugin } from "vite";

/**
 * Emit /sw.js next to index.html with the list of app-shell files to precache. The Urdu font is
 * left out of the precache (it is cached the first time Urdu is chosen).
 */
function serviceWorker(): Plugin {
  return {
    name: "takhti-service-worker",
    apply: "build",
    // After writing: the files really on disk (Vite drops empty CSS-only chunks late).
    async writeBundle(options) {
      const outDir = options.dir!;
      const shell = readdirSync(join(outDir, "assets"))
        .filter((name) => !/\.(woff2?|map|br|gz)$/.test(name))
        .map((name) => `/assets/${name}`)
        .sort();
      const version = createHash("sha256").update(shell.join("\n")).digest("hex").slice(0, 12);
      const result = await esbuildLike({
        configFile: false,
        logLevel: "silent",
        define: { __SHELL__: JSON.stringify(shell), __VERSION__: JSON.stringify(version) },
        build: {
          write: false,
          minify: true,
          lib: { entry: fileURLToPath(new URL("./src/sw.ts", import.meta.url)), formats: ["es"], fileName: () => "sw.js" },
        },
      });
      const output = (Array.isArray(result) ? result[0] : result) as { output: { code?: string }[] };
      writeFileSync(join(outDir, "sw.js"), output.output[0]!.code ?? "");
    },
  };
}

/**
 * Write a `.br` and a `.gz` twin of every text file of the build (the server sends the one the
 * browser accepts: aiohttp's FileResponse looks for them), once, at build time, at the highest
 * levels: a tablet on a 64 kbit/s link gets about a quarter of the bytes. Runs after every
 * other plugin has written its files (sw.js).
 */
function precompress(): Plugin {
  const TEXT = /\.(js|mjs|css|html|svg|json|txt|webmanifest)$/;
  const walk = (dir: string): string[] =>
    readdirSync(dir).flatMap((name) => {
      const path = join(dir, name);
      return statSync(path).isDirectory() ? walk(path) : [path];
    });
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
        for (const path of walk(outDir)) {
          if (!TEXT.test(path)) continue;
          const data = readFileSync(path);
          writeFileSync(`${path}.gz`, gzipSync(data, { level: 9 }));
          writeFileSync(`${path}.br`, brotliCompressSync(data, { params: { [zlib.BROTLI_PARAM_QUALITY]: 11, [zlib.BROTLI_PARAM_SIZE_HINT]: data.length } }));
        }
      },
    },
  };
}

export default defineConfig({
  plugins: [serviceWorker(), precompress()],
  build: {
    outDir: "../classroom/static",
    emptyOutDir: true,
    target: "es2020",
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
    // .vite/manifest.json: which chunks a page's code needs, so the server can name them in a
    // library lesson's page (classroom/library_http.py) and they load beside the entry.
    manifest: true,
    reportCompressedSize: true,
  },
  server: {
    proxy: {
      "/api": "http://127.0.0.1:8080",
      "/socket.io": { target: "http://127.0.0.1:8080", ws: true },
    },
  },
  test: {
    include: ["test/**/*.test.ts"],
    environment: "node",
  },
});
