import { Bar, CartesianGrid, ComposedChart, Legend, Line, Tooltip, XAxis, YAxis } from "recharts";

export interface DailyPoint {
  day: string;
  abandonedShopify: number;
  abandonedStripe: number;
  recovered: number;
}

/**
 * Abandoned carts per day by source, with recoveries as a line. Rendered server-side as SVG (recharts with a fixed
 * viewBox scales to the card's width), so the chart is there before any JavaScript runs.
 */
export function RecoveryChart({ data }: { data: DailyPoint[] }) {
  return (
    <div style={{ width: "100%", overflow: "hidden" }} aria-label="Abandoned and recovered carts per day" role="img">
      {/* A fixed id: recharts otherwise numbers its clip paths per process, and server and browser disagree. */}
      <ComposedChart id="recovery-chart" width={720} height={260} data={data} margin={{ top: 8, right: 16, bottom: 0, left: 0 }} style={{ width: "100%", height: "auto" }}>
        <CartesianGrid strokeDasharray="3 3" vertical={false} />
        {/* Numeric intervals: recharts would otherwise thin ticks by measuring text, which only the browser can do, and the
            browser's chart would not match the server's. */}
        <XAxis dataKey="day" tick={{ fontSize: 11 }} interval={Math.max(0, Math.ceil(data.length / 8) - 1)} />
        <YAxis allowDecimals={false} tick={{ fontSize: 11 }} width={40} interval={0} />
        <Tooltip />
        <Legend wrapperStyle={{ fontSize: 12 }} />
        <Bar dataKey="abandonedShopify" name="Abandoned on Shopify" stackId="a" fill="#008060" isAnimationActive={false} />
        <Bar dataKey="abandonedStripe" name="Abandoned on Stripe" stackId="a" fill="#635bff" isAnimationActive={false} />
        <Line dataKey="recovered" name="Recovered" stroke="#e3a008" strokeWidth={2} dot={false} isAnimationActive={false} />
      </ComposedChart>
    </div>
  );
}
