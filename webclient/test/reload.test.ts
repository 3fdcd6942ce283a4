import { describe, expect, it } from "vitest";
import { connectedUpToDate, RELOAD_GUARD_MS, RELOAD_KEY, reloadOutdatedApp, type ReloadStore } from "../src/net/reload";

function memoryStore(): ReloadStore & { data: Map<string, string> } {
  const data = new Map<string, string>();
  return {
    data,
    getItem: (key) => data.get(key) ?? null,
    setItem: (key, value) => void data.set(key, value),
    removeItem: (key) => void data.delete(key),
  };
}

describe("reloading an outdated app", () => {
  it("reloads once, then not again while the server keeps refusing", () => {
    const store = memoryStore();
    let reloads = 0;
    const reload = () => void reloads++;
    expect(reloadOutdatedApp(store, reload, 1_000)).toBe(true);
    expect(reloads).toBe(1);
    // The reloaded page is refused again: no loop.
    expect(reloadOutdatedApp(store, reload, 2_000)).toBe(false);
    expect(reloadOutdatedApp(store, reload, 1_000 + RELOAD_GUARD_MS - 1)).toBe(false);
    expect(reloads).toBe(1);
  });

  it("may reload again after the guard time or after a good connection", () => {
    const store = memoryStore();
    let reloads = 0;
    const reload = () => void reloads++;
    reloadOutdatedApp(store, reload, 0);
    expect(reloadOutdatedApp(store, reload, RELOAD_GUARD_MS)).toBe(true);
    connectedUpToDate(store);
    expect(store.data.has(RELOAD_KEY)).toBe(false);
    expect(reloadOutdatedApp(store, reload, RELOAD_GUARD_MS + 1)).toBe(true);
    expect(reloads).toBe(3);
  });

  it("treats a garbled or future stamp as no stamp", () => {
    const store = memoryStore();
    let reloads = 0;
    store.setItem(RELOAD_KEY, "not a time");
    expect(reloadOutdatedApp(store, () => void reloads++, 10)).toBe(true);
    store.setItem(RELOAD_KEY, String(10 + RELOAD_GUARD_MS * 2));
    expect(reloadOutdatedApp(store, () => void reloads++, 10)).toBe(true);
    expect(reloads).toBe(2);
  });
});
