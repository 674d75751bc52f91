// Hub presence and robot status as they arrived live, so a list read before one of them
// cannot undo it.
//
// A page reads a home's hubs and robots over HTTP while the live feed keeps talking. An
// event that arrives while that request is on its way has nothing to apply to yet (the
// list is not there), and the answer, read from the database before the change, would
// then show the old state until the next reload: a hub back online shown offline. So
// every device event is also kept here, numbered in order of arrival; a caller notes the
// number before it asks (`mark`) and lays what came after it over the answer (`hubs`,
// `robots`).
import type { HubPresencePayload, RobotStatusPayload } from "../events";
import type { Hub, Robot } from "../types";
import { applyRobotStatus } from "./robots";

interface Kept<T> {
  seq: number;
  value: T;
}

export class LiveDevices {
  private seq = 0;
  private readonly presence = new Map<number, Kept<HubPresencePayload>>();
  private readonly status = new Map<number, Kept<RobotStatusPayload>>();

  /** The position to pass to `hubs`/`robots` for an answer requested from now on. */
  mark(): number {
    return this.seq;
  }

  /** A hub's presence arrived. */
  hubPresence(presence: HubPresencePayload): void {
    this.seq += 1;
    this.presence.set(presence.hub_id, { seq: this.seq, value: presence });
  }

  /** A robot's status arrived; fields it leaves out (null) keep what came before. */
  robotStatus(status: RobotStatusPayload): void {
    this.seq += 1;
    const before = this.status.get(status.robot_id)?.value;
    const merged: RobotStatusPayload = before
      ? {
          ...status,
          state: status.state ?? before.state,
          position: status.position ?? before.position,
          battery_pct: status.battery_pct ?? before.battery_pct,
          at: status.at ?? before.at,
        }
      : status;
    this.status.set(status.robot_id, { seq: this.seq, value: merged });
  }

  /** The hubs of an answer requested at `since`, with the presence that arrived after. */
  hubs(hubs: Hub[], since: number): Hub[] {
    return hubs.map((hub) => {
      const kept = this.presence.get(hub.id);
      if (!kept || kept.seq <= since) return hub;
      const { online, last_seen_at } = kept.value;
      return { ...hub, online, last_seen_at: last_seen_at ?? hub.last_seen_at };
    });
  }

  /** The robots of an answer requested at `since`, with the status that arrived after. */
  robots(robots: Robot[], since: number): Robot[] {
    let result = robots;
    for (const robot of robots) {
      const kept = this.status.get(robot.id);
      if (kept && kept.seq > since) result = applyRobotStatus(result, kept.value);
    }
    return result;
  }

  /** Forget everything (signed out: the next user's answers owe nothing to these). */
  clear(): void {
    this.presence.clear();
    this.status.clear();
  }
}
