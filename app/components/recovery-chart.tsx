import { useTranslation } from "react-i18next";

export interface DailyPoint {
  day: string;
  abandonedShopify: number;
  abandonedStripe: number;
  /** Purchases credited by link that day: after a Reclaim email, not reversed (docs/decisions/082). */
  recovered: number;
}

const COLORS = { shopify: "#008060", stripe: "#635bff", recovered: "#b86e00" } as const;
const W = 720;
const H = 240;
const PAD = { top: 8, right: 8, bottom: 24, left: 36 };

/** A round axis maximum at or above `max` (1, 2, 5 × 10^n) so ticks fall on whole numbers. */
export function niceMax(max: number): number {
  if (max <= 4) return Math.max(1, Math.ceil(max));
  const step = 10 ** Math.floor(Math.log10(max));
  for (const m of [1, 2, 5, 10]) if (m * step >= max) return m * step;
  return 10 * step;
}

/** A day on the axis: "12-07" in English as before; the locale's own short numeric date otherwise ("7.12.", "12/7"). */
export function axisDay(day: string, locale?: string): string {
  if (!locale || /^en\b/i.test(locale)) return day.slice(5);
  return new Intl.DateTimeFormat(locale, { month: "numeric", day: "numeric", timeZone: "UTC" }).format(new Date(`${day}T00:00:00Z`));
}

/**
 * Abandoned carts per day by source (stacked bars), with purchases recovered by link as a line. Plain SVG drawn on the
 * server: no chart library in the browser (recharts was 441 KB of the Overview's JavaScript, issue 21 and
 * docs/decisions/083), the same picture before and after hydration (no layout shift), and a fixed aspect ratio. Each
 * day's numbers are in its tooltip (`<title>`) and in the accessible name.
 */
export function RecoveryChart({ data, locale }: { data: DailyPoint[]; locale?: string }) {
  const { t } = useTranslation("overview");
  const innerW = W - PAD.left - PAD.right;
  const innerH = H - PAD.top - PAD.bottom;
  const max = niceMax(Math.max(0, ...data.map((d) => Math.max(d.abandonedShopify + d.abandonedStripe, d.recovered))));
  const y = (v: number) => PAD.top + innerH - (v / max) * innerH;
  const slot = innerW / Math.max(1, data.length);
  const barW = Math.max(1, Math.min(24, slot * 0.7));
  const x = (i: number) => PAD.left + i * slot + slot / 2;
  const labelEvery = Math.max(1, Math.ceil(data.length / 8));
  const ticks = [0, max / 4, max / 2, (3 * max) / 4, max].filter((t) => Number.isInteger(t));
  const line = data.map((d, i) => `${i ? "L" : "M"}${x(i).toFixed(1)},${y(d.recovered).toFixed(1)}`).join(" ");
  const totals = data.reduce((a, d) => ({ abandoned: a.abandoned + d.abandonedShopify + d.abandonedStripe, recovered: a.recovered + d.recovered }), {
    abandoned: 0,
    recovered: 0,
  });

  return (
    <figure style={{ margin: 0 }}>
      <svg
        viewBox={`0 0 ${W} ${H}`}
        width="100%"
        style={{ display: "block", height: "auto", aspectRatio: `${W} / ${H}` }}
        role="img"
        aria-label={t("chart.summary", { abandoned: totals.abandoned, recovered: totals.recovered, days: data.length })}
      >
        {ticks.map((t) => (
          <g key={t}>
            <line x1={PAD.left} x2={W - PAD.right} y1={y(t)} y2={y(t)} stroke="#e3e3e3" strokeDasharray={t ? "3 3" : undefined} />
            <text x={PAD.left - 6} y={y(t) + 4} textAnchor="end" fontSize={11} fill="#616161">
              {t}
            </text>
          </g>
        ))}
        {data.map((d, i) => {
          const shopifyTop = y(d.abandonedShopify);
          const stripeTop = y(d.abandonedShopify + d.abandonedStripe);
          return (
            <g key={d.day}>
              <title>{t("chart.day", { day: d.day, shopify: d.abandonedShopify, stripe: d.abandonedStripe, recovered: d.recovered })}</title>
              {/* A transparent full-height target so the tooltip shows on days with nothing abandoned too. */}
              <rect x={x(i) - slot / 2} y={PAD.top} width={slot} height={innerH} fill="transparent" />
              {d.abandonedShopify > 0 ? (
                <rect className="reclaim-chart-bar" x={x(i) - barW / 2} y={shopifyTop} width={barW} height={y(0) - shopifyTop} fill={COLORS.shopify} />
              ) : null}
              {d.abandonedStripe > 0 ? (
                <rect className="reclaim-chart-bar" x={x(i) - barW / 2} y={stripeTop} width={barW} height={shopifyTop - stripeTop} fill={COLORS.stripe} />
              ) : null}
              {i % labelEvery === 0 ? (
                <text x={x(i)} y={H - 6} textAnchor="middle" fontSize={11} fill="#616161">
                  {axisDay(d.day, locale)}
                </text>
              ) : null}
            </g>
          );
        })}
        {data.length > 0 ? <path d={line} fill="none" stroke={COLORS.recovered} strokeWidth={2} pointerEvents="none" /> : null}
      </svg>
      <figcaption style={{ display: "flex", gap: 16, justifyContent: "center", fontSize: 12, marginTop: 4 }}>
        <Key color={COLORS.shopify} label={t("chart.abandonedShopify")} />
        <Key color={COLORS.stripe} label={t("chart.abandonedStripe")} />
        <Key color={COLORS.recovered} label={t("chart.recoveredByLink")} line />
      </figcaption>
    </figure>
  );
}

function Key({ color, label, line }: { color: string; label: string; line?: boolean }) {
  return (
    <span style={{ display: "inline-flex", alignItems: "center", gap: 6 }}>
      <span aria-hidden style={{ width: 12, height: line ? 2 : 12, background: color, display: "inline-block" }} />
      {label}
    </span>
  );
}
