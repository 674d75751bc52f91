// Who was notified about an alert, on which channel, and how it went (GET /alerts/{id}).
import { en } from "../i18n/en";
import { t, type MessageKey } from "../i18n";
import type { Delivery } from "../types";
import { formatLocalTime } from "./format";

/** A channel's name in the page's language ("e-mail", "이메일"); an unknown one as sent. */
export function channelLabel(channel: string): string {
  const key = `channel.${channel}`;
  return key in en ? t(key as MessageKey) : channel;
}

/** How the delivery went: "sent at 14:03", "retrying: attempt 2 failed, next try at 14:05", ... */
export function deliveryOutcome(delivery: Delivery, zone: string | null | undefined, now: Date): string {
  const time = (iso: string | null | undefined) => (iso ? formatLocalTime(iso, zone, now) : "");
  switch (delivery.outcome) {
    case "sent":
      return delivery.sent_at ? t("delivery.sentAt", { time: time(delivery.sent_at) }) : t("delivery.sent");
    case "retrying":
      return delivery.next_retry_at
        ? t("delivery.retryingAt", { attempts: delivery.attempts, time: time(delivery.next_retry_at) })
        : t("delivery.retrying", { attempts: delivery.attempts });
    case "failed":
      return t("delivery.failed", { attempts: delivery.attempts });
    case "cancelled":
      return t("delivery.cancelled");
    case "waiting":
      return t("delivery.waiting");
    default:
      return String(delivery.outcome);
  }
}

/**
 * One line per delivery: "Kim Minji · e-mail · sent at 14:03", with the channel's error for a
 * retrying or failed one when the server gave it (staff only: guardians get no error text).
 */
export function deliveryLine(delivery: Delivery, zone: string | null | undefined, now: Date): string {
  const parts = [delivery.recipient, channelLabel(delivery.channel)];
  if (delivery.purpose === "reminder") parts.push(t("delivery.reminder"));
  parts.push(deliveryOutcome(delivery, zone, now));
  if (delivery.error && (delivery.outcome === "retrying" || delivery.outcome === "failed")) {
    parts.push(delivery.error);
  }
  return parts.join(" · ");
}

/** Who a timeline entry "notified" / "notification failed" was about: "Kim Minji · e-mail". */
export function timelineDelivery(details: Record<string, unknown>): string | null {
  if (typeof details.recipient !== "string" || typeof details.channel !== "string") return null;
  const parts = [details.recipient, channelLabel(details.channel)];
  if (typeof details.error === "string") parts.push(details.error);
  return parts.join(" · ");
}
