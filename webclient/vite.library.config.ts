/**
 * The library's pages (/library, /library/{class_id}) as their own small build: library.html
 * and one script with its CSS (src/library/main.ts: the library, the replay player, the board
 * renderer and only the strings they show), Urdu's strings and font on demand. Written beside
 * the app's build (after it: that one empties classroom/static); the server sends
 * library.html for the library's addresses (classroom/library_http.py).
 */
import { fileURLToPath } from "node:url";
import { defineConfig } from "vite";
import { precompress, pruneStrings } from "./scripts/vite-plugins.ts";

const entry = fileURLToPath(new URL("./src/library/main.ts", import.meta.url));

export default defineConfig({
  publicDir: false,
  plugins: [pruneStrings(entry), precompress()],
  build: {
    outDir: "../classroom/static",
    emptyOutDir: false,
    target: "es2020",
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
    reportCompressedSize: true,
    rolldownOptions: {
      input: fileURLToPath(new URL("./library.html", import.meta.url)),
      output: {
        // library-*: the app's service worker and first-load budget leave these out.
        entryFileNames: "assets/library-[hash].js",
        chunkFileNames: "assets/library-[name]-[hash].js",
        // The fonts are the app's own files (same names): a device caches them once.
        assetFileNames: (asset) => {
          const name = asset.names[0] ?? "";
          if (name === "library.css") return "assets/library-[hash][extname]";
          return name.endsWith(".css") ? "assets/library-[name]-[hash][extname]" : "assets/[name]-[hash][extname]";
        },
      },
    },
  },
});
