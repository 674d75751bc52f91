// Where a resident was last active, and which rooms are active now, from the activity heatmap.
import type { SensorStatePayload } from "../events";
import { roomLabel } from "../i18n/server";
import type { ActivityHeatmap } from "../types";

export interface LastActivity {
  roomId: number;
  room: string;
  date: string;
  hour: number;
}

/** The latest (date, hour) with events, and its busiest room; null when the heatmap is empty. */
export function lastActivity(heatmap: ActivityHeatmap): LastActivity | null {
  let best: LastActivity | null = null;
  let bestEvents = 0;
  for (const row of heatmap.rows) {
    row.events.forEach((events, hour) => {
      if (events <= 0) return;
      const later = best === null || row.date > best.date || (row.date === best.date && hour > best.hour);
      const same = best !== null && row.date === best.date && hour === best.hour;
      if (later || (same && events > bestEvents)) {
        const room = heatmap.rooms.find((r) => r.room_id === row.room_id);
        best = { roomId: row.room_id, room: room?.name ?? `#${row.room_id}`, date: row.date, hour };
        bestEvents = events;
      }
    });
  }
  return best;
}

/** Room ids with events on `date` in `hour` (the current local hour) or the one before. */
export function activeRooms(heatmap: ActivityHeatmap, date: string, hour: number): Set<number> {
  const active = new Set<number>();
  for (const row of heatmap.rows) {
    if (row.date !== date) continue;
    if ((row.events[hour] ?? 0) > 0 || (hour > 0 && (row.events[hour - 1] ?? 0) > 0)) active.add(row.room_id);
  }
  return active;
}

/** Sum of events per room and hour over all days: the cells of the heatmap chart. */
export function heatmapGrid(heatmap: ActivityHeatmap): { roomId: number; name: string; hours: number[] }[] {
  return heatmap.rooms.map((room) => {
    const hours = new Array<number>(24).fill(0);
    for (const row of heatmap.rows) {
      if (row.room_id !== room.room_id) continue;
      row.events.forEach((n, h) => (hours[h] = (hours[h] ?? 0) + n));
    }
    return { roomId: room.room_id, name: roomLabel(room.name, room.kind), hours };
  });
}

/** Sensors that say someone is (or was just) in the room when they read above zero. */
const PRESENCE_KINDS = new Set(["motion", "door", "bed", "chair", "toilet", "power"]);
/** A live reading lights its room this long. */
export const LIVE_ACTIVE_MS = 15 * 60_000;

/** Room ids a live sensor_state shows occupied: a presence sensor above zero, recently. */
export function liveActiveRooms(state: SensorStatePayload, now: Date): Set<number> {
  const active = new Set<number>();
  for (const room of state.rooms) {
    if (room.room_id === null) continue;
    const lit = room.sensors.some(
      (s) => PRESENCE_KINDS.has(s.kind) && s.value > 0 && now.getTime() - s.ts < LIVE_ACTIVE_MS,
    );
    if (lit) active.add(room.room_id);
  }
  return active;
}

/** The (date, hour) of `ms` in the IANA zone `zone` (UTC without one), as the heatmap keys them. */
export function localHour(ms: number, zone: string | null): { date: string; hour: number } {
  const parts = new Intl.DateTimeFormat("en-CA", {
    timeZone: zone ?? "UTC",
    year: "numeric",
    month: "2-digit",
    day: "2-digit",
    hour: "2-digit",
    hourCycle: "h23",
  }).formatToParts(new Date(ms));
  const part = (type: string) => parts.find((p) => p.type === type)?.value ?? "00";
  return { date: `${part("year")}-${part("month")}-${part("day")}`, hour: Number(part("hour")) };
}

/** Where a live sensor_state last saw the resident: the newest presence reading above zero. */
export function liveLastActivity(state: SensorStatePayload, zone: string | null): LastActivity | null {
  let newest: { ts: number; roomId: number; room: string } | null = null;
  for (const room of state.rooms) {
    if (room.room_id === null) continue;
    for (const s of room.sensors) {
      if (!PRESENCE_KINDS.has(s.kind) || s.value <= 0) continue;
      if (newest === null || s.ts > newest.ts)
        newest = { ts: s.ts, roomId: room.room_id, room: room.room ?? `#${room.room_id}` };
    }
  }
  if (newest === null) return null;
  return { roomId: newest.roomId, room: newest.room, ...localHour(newest.ts, zone) };
}

/** The later of two last activities (the live one wins a tie: it is the newer news). */
export function laterActivity(known: LastActivity | null | undefined, live: LastActivity): LastActivity {
  if (!known) return live;
  if (known.date > live.date || (known.date === live.date && known.hour > live.hour)) return known;
  return live;
}
