import { describe, expect, it } from "vitest";
import { clearSession, loadSession, saveSession, sessionFromLogin } from "../src/session";
import { makeLogin, MemoryStorage } from "./fixtures";

describe("session", () => {
  it("round-trips through storage until it expires", () => {
    const storage = new MemoryStorage();
    const session = sessionFromLogin(makeLogin({ expires_in: 60 }), 1_000);
    expect(session.expiresAt).toBe(61_000);
    saveSession(storage, session);
    expect(loadSession(storage, 2_000)).toEqual(session);
    expect(loadSession(storage, 61_000)).toBeNull();
    // An expired entry is removed, not left for the next page load.
    expect(storage.length).toBe(0);
  });

  it("ignores and removes a corrupt entry", () => {
    const storage = new MemoryStorage();
    storage.setItem("sst.session", "{not json");
    expect(loadSession(storage)).toBeNull();
    storage.setItem("sst.session", JSON.stringify({ token: 5 }));
    expect(loadSession(storage)).toBeNull();
    expect(storage.length).toBe(0);
  });

  it("clears on logout", () => {
    const storage = new MemoryStorage();
    saveSession(storage, sessionFromLogin(makeLogin()));
    clearSession(storage);
    expect(loadSession(storage)).toBeNull();
  });
});
