/// <reference lib="webworker" />
/**
 * The offline app shell: index.html and the built assets are cached at install, so a repeat visit
 * opens with no network. Pages: network first (2.5 s), then the cache; /assets: cache first
 * (file names carry content hashes). API and Socket.IO traffic is never cached.
 */
declare const __SHELL__: string[];
declare const __VERSION__: string;

const CACHE = `takhti-${__VERSION__}`;
const SHELL: string[] = __SHELL__;
const sw = self as unknown as ServiceWorkerGlobalScope;

sw.addEventListener("install", (event: ExtendableEvent) => {
  event.waitUntil(
    caches
      .open(CACHE)
      .then((cache) => cache.addAll(["/", ...SHELL]))
      .then(() => sw.skipWaiting()),
  );
});

sw.addEventListener("activate", (event: ExtendableEvent) => {
  event.waitUntil(
    caches
      .keys()
      .then((keys) => Promise.all(keys.filter((k) => k.startsWith("takhti-") && k !== CACHE).map((k) => caches.delete(k))))
      .then(() => sw.clients.claim()),
  );
});

function timeout(ms: number): Promise<never> {
  return new Promise((_, reject) => setTimeout(() => reject(new Error("timeout")), ms));
}

sw.addEventListener("fetch", (event: FetchEvent) => {
  const request = event.request;
  const url = new URL(request.url);
  if (request.method !== "GET" || url.origin !== sw.location.origin) return;
  if (url.pathname.startsWith("/api/") || url.pathname.startsWith("/socket.io")) return;
  // The library is its own page (library.html) and needs the server: not the app shell.
  if (/^\/library(\/|$)/.test(url.pathname)) return;
  if (request.mode === "navigate") {
    event.respondWith(
      (async () => {
        const cache = await caches.open(CACHE);
        try {
          const fresh = await Promise.race([fetch(request), timeout(2500)]);
          if (fresh.ok) await cache.put("/", fresh.clone());
          return fresh;
        } catch {
          return (await cache.match("/")) ?? Response.error();
        }
      })(),
    );
    return;
  }
  if (url.pathname.startsWith("/assets/")) {
    event.respondWith(
      (async () => {
        const cache = await caches.open(CACHE);
        const hit = await cache.match(request);
        if (hit) return hit;
        const fresh = await fetch(request);
        if (fresh.ok) await cache.put(request, fresh.clone());
        return fresh;
      })(),
    );
  }
});
