// One metric per day against the resident's own usual range (mean ± 2 SD of the 28 days before).
import { t } from "../../i18n";
import { bandPath, linePath, trendSeries, type TrendMetric } from "../../state/charts";
import type { DailyTrendDay } from "../../types";

const W = 300;
const H = 120;
const PAD_L = 28;
const PAD_B = 18;
const PAD_T = 8;

export function TrendChart({ days, metric }: { days: DailyTrendDay[]; metric: TrendMetric }) {
  const series = trendSeries(days, metric);
  const n = Math.max(days.length - 1, 1);
  const x = (i: number) => PAD_L + (i / n) * (W - PAD_L - 6);
  const y = (v: number) => PAD_T + (1 - v / series.max) * (H - PAD_T - PAD_B);
  const line = linePath(series.values, x, y);
  const band = bandPath(series.bandLow, series.bandHigh, x, y);
  const label = t(`metric.${metric}`);
  const last = [...series.values].reverse().find((v) => v !== null);
  return (
    <figure class="chart trend">
      <figcaption>
        {label}
        {last !== undefined && last !== null ? (
          <span class="trend__last"> · {Math.round(last * 10) / 10}</span>
        ) : null}
      </figcaption>
      <svg viewBox={`0 0 ${W} ${H}`} role="img" aria-label={label} data-testid={`trend-${metric}`}>
        <line x1={PAD_L} y1={y(0)} x2={W - 6} y2={y(0)} class="chart__baseline" />
        <text x={PAD_L - 4} y={y(series.max) + 8} class="chart__axis" text-anchor="end">
          {series.max}
        </text>
        <text x={PAD_L - 4} y={y(0)} class="chart__axis" text-anchor="end">
          0
        </text>
        {days.length > 0 && (
          <>
            <text x={PAD_L} y={H - 4} class="chart__axis">
              {days[0]?.date.slice(5)}
            </text>
            <text x={W - 6} y={H - 4} class="chart__axis" text-anchor="end">
              {days[days.length - 1]?.date.slice(5)}
            </text>
          </>
        )}
        {band && <path d={band} class="trend__band" data-testid="trend-band" />}
        {line && <path d={line} class="trend__line" data-testid="trend-line" />}
        {series.values.map((v, i) =>
          v === null ? null : <circle key={i} cx={x(i)} cy={y(v)} r={2.2} class="trend__dot" />,
        )}
      </svg>
      <p class="chart__legend">
        <span class="legend legend--band" aria-hidden="true" /> {t("resident.band")}
      </p>
    </figure>
  );
}
