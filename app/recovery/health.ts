/**
 * The Overview's health strip: what stops recovery emails from going out (or makes them go out twice), each with what
 * to do about it. Pure: app/models/health.server.ts gathers the facts.
 */

export interface HealthFacts {
  now: Date;
  /** Enabled campaigns that have at least one email. */
  activeCampaigns: number;
  /** Emails that failed in the last 24 hours, and the most recent failure's stored reason. */
  failedLast24h: number;
  lastFailure: string | null;
  /** Settings › Shopify's own abandoned-checkout email (docs/decisions/075). */
  shopifyEmailPolicy: string;
  /** Carts left to Shopify's own email in the last 7 days (under `defer`). */
  heldForShopifyEmailLast7d: number;
  shopifySync: { status: string; lastSuccessAt: Date | null; lastError: string | null; intervalMinutes: number; installedAt: Date } | null;
  /** Why the shop's details (currency, time zone…) could not be read from Shopify at install, while retried; null once read. */
  shopDetailsProblem?: string | null;
  /** What is used meanwhile. */
  currency?: string;
  timezone?: string;
}

export type HealthAction = { content: string; url: string } | { content: string; intent: "sync" };

export interface HealthIssue {
  key: "campaign_off" | "failed_sends" | "shopify_email" | "sync" | "shop_details";
  tone: "critical" | "warning" | "info";
  title: string;
  body: string;
  action: HealthAction;
}

const plural = (n: number, one: string, many: string) => `${n} ${n === 1 ? one : many}`;

/** A sync is late after three missed intervals, and never sooner than 30 minutes (one slow poll is not a problem). */
export const syncLateAfterMs = (intervalMinutes: number) => Math.max(30, 3 * Math.max(1, intervalMinutes)) * 60_000;

export function healthIssues(f: HealthFacts): HealthIssue[] {
  const issues: HealthIssue[] = [];
  if (f.activeCampaigns === 0) {
    issues.push({
      key: "campaign_off",
      tone: "critical",
      title: "Your recovery campaign is off",
      body: "No recovery email is being sent. Abandoned carts are still collected and will be emailed once a campaign is on.",
      action: { content: "Open campaigns", url: "/app/campaigns" },
    });
  }
  if (f.failedLast24h > 0) {
    issues.push({
      key: "failed_sends",
      tone: "critical",
      title: `${plural(f.failedLast24h, "email", "emails")} failed in the last 24 hours`,
      body: f.lastFailure ? `The most recent failure: ${f.lastFailure}` : "Check that your email sending settings are right.",
      action: { content: "Check email sending", url: "/app/settings" },
    });
  }
  if (f.shopifyEmailPolicy === "send_anyway") {
    issues.push({
      key: "shopify_email",
      tone: "warning",
      title: "Buyers may get two abandoned-cart emails",
      // Under "send anyway" Reclaim no longer asks Shopify (docs/decisions/075), so it cannot know: it says what to check.
      body: "Reclaim is set to send even when Shopify's own abandoned-checkout email has gone out. If Shopify's automation is on (Marketing › Automations › Abandoned checkout), turn it off, or let Reclaim hold its emails when Shopify has written.",
      action: { content: "Review the setting", url: "/app/settings#shopify-email" },
    });
  } else if (f.heldForShopifyEmailLast7d > 0) {
    issues.push({
      key: "shopify_email",
      tone: "info",
      title: "Shopify's own abandoned-checkout email is on",
      body: `${plural(f.heldForShopifyEmailLast7d, "cart was", "carts were")} left to Shopify's email in the last 7 days, so those buyers got no Reclaim email. To let Reclaim recover them, turn Shopify's automation off (Marketing › Automations › Abandoned checkout).`,
      action: { content: "How this works", url: "/app/settings#shopify-email" },
    });
  }
  const s = f.shopifySync;
  if (s) {
    const since = s.lastSuccessAt ?? s.installedAt;
    const late = f.now.getTime() - since.getTime() > syncLateAfterMs(s.intervalMinutes);
    if (s.status !== "healthy" || late) {
      const minutes = Math.round((f.now.getTime() - since.getTime()) / 60_000);
      const age = minutes < 120 ? plural(minutes, "minute", "minutes") : plural(Math.round(minutes / 60), "hour", "hours");
      issues.push({
        key: "sync",
        tone: s.status === "unhealthy" ? "critical" : "warning",
        title: "Shopify checkouts are not syncing",
        body: `${s.lastSuccessAt ? `Last successful sync ${age} ago` : `No successful sync in the ${age} since install`}${s.lastError ? `: ${s.lastError}` : "."} New abandoned checkouts are not picked up meanwhile.`,
        action: { content: "Sync now", intent: "sync" },
      });
    }
  }
  if (f.shopDetailsProblem) {
    issues.push({
      key: "shop_details",
      tone: "warning",
      title: "Reclaim has not read your store's details from Shopify yet",
      body: `${f.shopDetailsProblem} Reclaim keeps trying by itself. Until then amounts are shown in ${f.currency ?? "USD"} and quiet hours use ${f.timezone ?? "UTC"}; you can choose the time zone in Settings.`,
      action: { content: "Open settings", url: "/app/settings" },
    });
  }
  return issues;
}
