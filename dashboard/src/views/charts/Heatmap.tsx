// Activity heatmap: rooms down, hours across, darker = more events. Hand-drawn SVG.
import { t } from "../../i18n";
import { heatmapGrid } from "../../state/activity";
import type { ActivityHeatmap } from "../../types";

const CELL_W = 22;
const CELL_H = 24;
const LABEL_W = 96;
const TOP = 18;

export function Heatmap({ heatmap }: { heatmap: ActivityHeatmap }) {
  const grid = heatmapGrid(heatmap);
  const max = Math.max(1, ...grid.flatMap((row) => row.hours));
  if (grid.length === 0 || grid.every((row) => row.hours.every((n) => n === 0))) {
    return <p class="empty">{t("resident.heatmapEmpty")}</p>;
  }
  const width = LABEL_W + 24 * CELL_W;
  const height = TOP + grid.length * CELL_H;
  return (
    <figure class="chart">
      <svg
        class="heatmap"
        viewBox={`0 0 ${width} ${height}`}
        role="img"
        aria-label={t("resident.heatmap")}
        data-testid="heatmap"
        preserveAspectRatio="xMinYMin meet"
      >
        {Array.from({ length: 24 }, (_, h) =>
          h % 3 === 0 ? (
            <text
              key={`h${h}`}
              x={LABEL_W + h * CELL_W + CELL_W / 2}
              y={12}
              class="chart__axis"
              text-anchor="middle"
            >
              {String(h).padStart(2, "0")}
            </text>
          ) : null,
        )}
        {grid.map((row, r) => (
          <g key={row.roomId}>
            <text x={LABEL_W - 6} y={TOP + r * CELL_H + CELL_H / 2 + 4} class="chart__axis" text-anchor="end">
              {row.name}
            </text>
            {row.hours.map((n, h) => (
              <rect
                key={h}
                class="heatmap__cell"
                x={LABEL_W + h * CELL_W + 1}
                y={TOP + r * CELL_H + 1}
                width={CELL_W - 2}
                height={CELL_H - 2}
                rx={3}
                fill={
                  n === 0 ? "var(--heat-0)" : `rgba(29, 90, 134, ${(0.15 + 0.85 * (n / max)).toFixed(2)})`
                }
                data-events={n}
              >
                <title>{`${row.name} ${String(h).padStart(2, "0")}:00 — ${n}`}</title>
              </rect>
            ))}
          </g>
        ))}
      </svg>
    </figure>
  );
}
