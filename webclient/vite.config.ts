/// <reference types="vitest/config" />
import { createHash } from "node:crypto";
import { readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { build as esbuildLike, defineConfig, type Plugin } from "vite";
import { precompress } from "./scripts/vite-plugins.ts";

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

export default defineConfig({
  plugins: [serviceWorker(), precompress()],
  build: {
    outDir: "../classroom/static",
    emptyOutDir: true,
    target: "es2020",
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
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
