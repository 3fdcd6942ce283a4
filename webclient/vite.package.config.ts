/**
 * The offline package's player (src/package/main.ts) as one classic script: an IIFE with its
 * CSS inlined, no chunks, no module syntax, written to classroom/static/package/player.js.
 * classroom/export/package.py inlines it into each lesson.html. Run after the app's build
 * (that one empties classroom/static).
 */
import { fileURLToPath } from "node:url";
import { defineConfig } from "vite";

export default defineConfig({
  publicDir: false,
  build: {
    outDir: "../classroom/static/package",
    emptyOutDir: true,
    target: "es2020",
    minify: true,
    reportCompressedSize: false,
    lib: {
      entry: fileURLToPath(new URL("./src/package/main.ts", import.meta.url)),
      formats: ["iife"],
      name: "TakhtiPackage",
      fileName: () => "player.js",
    },
  },
});
