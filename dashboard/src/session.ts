// The signed-in session, kept in sessionStorage so it ends with the browser tab.
import type { LoginResponse, User } from "./types";

const KEY = "sst.session";

export interface Session {
  token: string;
  /** Epoch milliseconds after which the token is no longer accepted. */
  expiresAt: number;
  /** Exchanged for a new pair before the access token runs out (absent: sign in again). */
  refreshToken?: string;
  refreshExpiresAt?: number;
  user: User;
}

/** Build a session from the login answer, counting expiry from `now`. */
export function sessionFromLogin(login: LoginResponse, now: number = Date.now()): Session {
  const session: Session = {
    token: login.access_token,
    expiresAt: now + login.expires_in * 1000,
    user: login.user,
  };
  if (login.refresh_token !== undefined) {
    session.refreshToken = login.refresh_token;
    session.refreshExpiresAt = now + (login.refresh_expires_in ?? login.expires_in) * 1000;
  }
  return session;
}

/** The stored session, or null when there is none, it is unreadable, or both its tokens expired. */
export function loadSession(storage: Storage, now: number = Date.now()): Session | null {
  const raw = storage.getItem(KEY);
  if (raw === null) return null;
  try {
    const session = JSON.parse(raw) as Partial<Session>;
    if (
      typeof session.token === "string" &&
      typeof session.expiresAt === "number" &&
      typeof session.user === "object" &&
      session.user !== null &&
      (session.expiresAt > now || (session.refreshExpiresAt ?? 0) > now)
    ) {
      return session as Session;
    }
  } catch {
    // Corrupt entry: treat as signed out.
  }
  storage.removeItem(KEY);
  return null;
}

/** Remember the session for this tab. */
export function saveSession(storage: Storage, session: Session): void {
  storage.setItem(KEY, JSON.stringify(session));
}

/** Forget the session (logout, expiry or a 401). */
export function clearSession(storage: Storage): void {
  storage.removeItem(KEY);
}
