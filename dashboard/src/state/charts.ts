// Geometry of the hand-drawn SVG charts (no chart library: two small charts do not need one).
import type { DailyTrendDay } from "../types";

export type TrendMetric =
  "sleep_hours" | "night_bathroom_visits" | "out_of_home_hours" | "kitchen_active_hours";
export const TREND_METRICS: readonly TrendMetric[] = [
  "sleep_hours",
  "night_bathroom_visits",
  "out_of_home_hours",
  "kitchen_active_hours",
];

export interface TrendSeries {
  values: (number | null)[];
  bandLow: (number | null)[];
  bandHigh: (number | null)[];
  max: number;
}

/** A metric's daily values and its baseline band, with the top of the y axis. */
export function trendSeries(days: readonly DailyTrendDay[], metric: TrendMetric): TrendSeries {
  const values = days.map((day) => (day.has_data ? day[metric] : null));
  const bandLow = days.map((day) => day.trend[metric]?.band_low ?? null);
  const bandHigh = days.map((day) => day.trend[metric]?.band_high ?? null);
  const all = [...values, ...bandHigh].filter((v): v is number => v !== null);
  const max = Math.max(1, ...all);
  return { values, bandLow, bandHigh, max: niceCeil(max) };
}

/** The next "round" number at or above v (1, 2, 5, 10, 20, ...). */
export function niceCeil(v: number): number {
  if (v <= 0) return 1;
  const power = 10 ** Math.floor(Math.log10(v));
  for (const step of [1, 2, 5, 10]) if (step * power >= v) return step * power;
  return 10 * power;
}

/** SVG path through the non-null points; a gap breaks the line. */
export function linePath(
  values: readonly (number | null)[],
  x: (i: number) => number,
  y: (v: number) => number,
): string {
  let path = "";
  let drawing = false;
  values.forEach((v, i) => {
    if (v === null) {
      drawing = false;
      return;
    }
    path += `${drawing ? "L" : "M"}${x(i).toFixed(1)},${y(v).toFixed(1)}`;
    drawing = true;
  });
  return path;
}

/** Closed SVG path of the band between low and high where both are known. */
export function bandPath(
  low: readonly (number | null)[],
  high: readonly (number | null)[],
  x: (i: number) => number,
  y: (v: number) => number,
): string {
  const runs: number[][] = [];
  let run: number[] = [];
  low.forEach((l, i) => {
    if (l !== null && high[i] !== null && high[i] !== undefined) run.push(i);
    else if (run.length) {
      runs.push(run);
      run = [];
    }
  });
  if (run.length) runs.push(run);
  return runs
    .map((r) => {
      const top = r.map((i) => `${x(i).toFixed(1)},${y(high[i] as number).toFixed(1)}`);
      const bottom = [...r].reverse().map((i) => `${x(i).toFixed(1)},${y(low[i] as number).toFixed(1)}`);
      return `M${top.join("L")}L${bottom.join("L")}Z`;
    })
    .join("");
}
