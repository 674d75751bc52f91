// Enabling Web Push in this browser: a service worker, the server's VAPID key, a subscription.
import type { PreferencesIn } from "./types";

export type PushOutcome =
  | { ok: true; subscription: NonNullable<PreferencesIn["push_subscription"]> }
  | { ok: false; reason: "unsupported" | "unavailable" | "denied" };

/** The VAPID key (base64url) as the bytes PushManager wants. */
export function urlBase64ToBytes(base64: string): Uint8Array<ArrayBuffer> {
  const padded = (base64 + "=".repeat((4 - (base64.length % 4)) % 4)).replace(/-/g, "+").replace(/_/g, "/");
  const raw = atob(padded);
  const bytes = new Uint8Array(new ArrayBuffer(raw.length));
  for (let i = 0; i < raw.length; i++) bytes[i] = raw.charCodeAt(i);
  return bytes;
}

/** Ask permission and subscribe; the caller stores the subscription with the preferences. */
export async function subscribePush(publicKey: string | null): Promise<PushOutcome> {
  if (
    !("serviceWorker" in navigator) ||
    typeof PushManager === "undefined" ||
    typeof Notification === "undefined"
  ) {
    return { ok: false, reason: "unsupported" };
  }
  if (!publicKey) return { ok: false, reason: "unavailable" };
  const permission = await Notification.requestPermission();
  if (permission !== "granted") return { ok: false, reason: "denied" };
  const registration = await navigator.serviceWorker.register("/sw.js");
  await navigator.serviceWorker.ready;
  const subscription = await registration.pushManager.subscribe({
    userVisibleOnly: true,
    applicationServerKey: urlBase64ToBytes(publicKey),
  });
  const json = subscription.toJSON();
  if (!json.endpoint || !json.keys?.p256dh || !json.keys.auth) return { ok: false, reason: "unsupported" };
  return {
    ok: true,
    subscription: { endpoint: json.endpoint, keys: { p256dh: json.keys.p256dh, auth: json.keys.auth } },
  };
}
