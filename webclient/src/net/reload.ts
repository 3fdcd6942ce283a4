/**
 * Reload an outdated app once. The server refuses a connection whose ``protocol_version`` is not
 * its own with ``OUTDATED_CLIENT``; a tab that still runs an old cached app then reloads, and the
 * page load (network first, see sw.ts) fetches the current app. A tab reloads at most once per
 * ``RELOAD_GUARD_MS``, so a server and an app that keep disagreeing (a stale proxy cache, a
 * half-finished upgrade) show "refused" instead of reloading in a loop.
 */

export const RELOAD_KEY = "takhti.outdated-reload-at";
export const RELOAD_GUARD_MS = 5 * 60_000;

export type ReloadStore = Pick<Storage, "getItem" | "setItem" | "removeItem">;

/** Reload unless this tab already did so recently; returns whether it reloads. */
export function reloadOutdatedApp(store: ReloadStore, reload: () => void, now: number): boolean {
  const last = Number(store.getItem(RELOAD_KEY) ?? Number.NaN);
  if (Number.isFinite(last) && now - last >= 0 && now - last < RELOAD_GUARD_MS) return false;
  store.setItem(RELOAD_KEY, String(now));
  reload();
  return true;
}

/** The app connected: a later protocol change may reload again. */
export function connectedUpToDate(store: ReloadStore): void {
  store.removeItem(RELOAD_KEY);
}

/** The tab's sessionStorage, or a throwaway store where there is none (private mode, tests). */
export function tabStore(): ReloadStore {
  try {
    if (typeof sessionStorage !== "undefined") return sessionStorage;
  } catch {
    // Storage can throw when the browser blocks it.
  }
  const memory = new Map<string, string>();
  return {
    getItem: (key) => memory.get(key) ?? null,
    setItem: (key, value) => void memory.set(key, value),
    removeItem: (key) => void memory.delete(key),
  };
}
