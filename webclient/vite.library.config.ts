/**
 * The library's pages (/library, /library/{class_id}) as their own small build: library.html
 * and one script with its CSS (src/library/main.ts: the library, the replay player, the board
 * renderer and only the strings they show), Urdu's strings and font on demand. Written beside
 * the app's build (after it: that one empties classroom/static); the server sends
 * library.html for the library's addresses (classroom/library_http.py).
 */
import { fileURLToPath } from "node:url";
import { defineConfig, type Plugin } from "vite";
import { precompress, pruneStrings } from "./scripts/vite-plugins.ts";

const entry = fileURLToPath(new URL("./src/library/main.ts", import.meta.url));
const urdu = fileURLToPath(new URL("./src/i18n-ur.ts", import.meta.url));

/** library.html's __URDU_STRINGS__: the built name of the Urdu strings' chunk. The page's
 * one inline script preloads it on a device in Urdu (as src/i18n.ts pickLang decides), so the
 * strings load beside the code, not after it (0.4 s at 64 kbit/s). */
function urduStringsName(): Plugin {
  return {
    name: "takhti-urdu-strings-name",
    apply: "build",
    transformIndexHtml: {
      order: "post",
      handler(html, ctx) {
        const chunk = Object.values(ctx.bundle ?? {}).find((c) => c.type === "chunk" && c.facadeModuleId === urdu);
        if (!chunk || !html.includes("__URDU_STRINGS__")) throw new Error("library.html's Urdu strings: no placeholder or no chunk");
        return html.replace("__URDU_STRINGS__", `/${chunk.fileName}`);
      },
    },
  };
}

export default defineConfig({
  publicDir: false,
  plugins: [pruneStrings(entry), urduStringsName(), precompress()],
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
