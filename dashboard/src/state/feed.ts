// The live feed's event ids: what the page has handled, for catch-up after a reconnection.

/** How many recent ids are remembered to drop a repeated one (a redelivered stream entry). */
const REMEMBERED = 2000;

/** The last event id this page handled, and the recent ones (docs/realtime.md, "Event ids"). */
export class EventCursor {
  private newest: number | null = null;
  private readonly recent = new Set<number>();

  /** The id to send as `last_event_id` when reconnecting; null before any logged event. */
  get last(): number | null {
    return this.newest;
  }

  /** Record an event's id; false when it was already handled (drop it). Unlogged events pass. */
  accept(eventId: number | null): boolean {
    if (eventId === null) return true;
    if (this.recent.has(eventId)) return false;
    this.recent.add(eventId);
    if (this.recent.size > REMEMBERED) {
      const oldest = this.recent.values().next().value;
      if (oldest !== undefined) this.recent.delete(oldest);
    }
    if (this.newest === null || eventId > this.newest) this.newest = eventId;
    return true;
  }

  /** A catch-up ended at `eventId` (the newest id the server considered). */
  caughtUpTo(eventId: number | null): void {
    if (eventId !== null && (this.newest === null || eventId > this.newest)) this.newest = eventId;
  }
}

/** What to do after a reconnection once the server said `caught_up` (or did not). */
export function needsReload(sentLastEventId: boolean, caughtUp: { complete: boolean } | null): boolean {
  // Without an id nothing was replayed; an incomplete (or missing) catch-up left holes.
  return !sentLastEventId || caughtUp === null || !caughtUp.complete;
}
