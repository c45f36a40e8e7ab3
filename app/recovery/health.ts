/**
 * The Overview's health strip: what stops recovery emails from going out (or makes them go out twice), each with what
 * to do about it. Pure: app/models/health.server.ts gathers the facts.
 */
import type { Translate } from "../i18n/locales";
import { translatorFor } from "../i18n/translator";

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

/**
 * A merchant-facing text as a key of the `overview` catalogue (under `health.`) and its values; a value may itself be a
 * text ("3 emails"). Kept on each issue so the page shows it in the admin's language (`localizeHealthIssues`).
 */
export interface HealthText {
  key: string;
  values?: Record<string, string | number | HealthText>;
}

export type { Translate };

export type HealthAction = { content: string; url: string } | { content: string; intent: "sync" };

export interface HealthIssue {
  key: "campaign_off" | "failed_sends" | "shopify_email" | "sync" | "shop_details";
  tone: "critical" | "warning" | "info";
  /** In the language of the `t` the issues were made or localized with (English by default). */
  title: string;
  body: string;
  action: HealthAction;
  /** The same texts as catalogue keys and values. */
  text: { title: HealthText; body: HealthText; action: HealthText };
}

const english: Translate = (key, values) => translatorFor("en")(key, values);

/** The text of a `HealthText`, its nested texts first. */
export function renderHealthText(text: HealthText, t: Translate): string {
  const values: Record<string, string | number> = {};
  for (const [name, value] of Object.entries(text.values ?? {})) values[name] = typeof value === "object" ? renderHealthText(value, t) : value;
  return t(`overview:health.${text.key}`, values);
}

/** The issues with their title, body and action in the language of `t` (the admin's). */
export function localizeHealthIssues(issues: HealthIssue[], t: Translate): HealthIssue[] {
  return issues.map((issue) => ({
    ...issue,
    title: renderHealthText(issue.text.title, t),
    body: renderHealthText(issue.text.body, t),
    action: { ...issue.action, content: renderHealthText(issue.text.action, t) },
  }));
}

const count = (key: "emails" | "carts" | "minutes" | "hours", n: number): HealthText => ({ key: `count.${key}`, values: { count: n } });

/** A sync is late after three missed intervals, and never sooner than 30 minutes (one slow poll is not a problem). */
export const syncLateAfterMs = (intervalMinutes: number) => Math.max(30, 3 * Math.max(1, intervalMinutes)) * 60_000;

type Draft = Omit<HealthIssue, "title" | "body" | "text" | "action"> & {
  title: HealthText;
  body: HealthText;
  action: { content: HealthText } & ({ url: string } | { intent: "sync" });
};

export function healthIssues(f: HealthFacts, t: Translate = english): HealthIssue[] {
  const drafts: Draft[] = [];
  if (f.activeCampaigns === 0) {
    drafts.push({
      key: "campaign_off",
      tone: "critical",
      title: { key: "campaignOff.title" },
      body: { key: "campaignOff.body" },
      action: { content: { key: "campaignOff.action" }, url: "/app/campaigns" },
    });
  }
  if (f.failedLast24h > 0) {
    drafts.push({
      key: "failed_sends",
      tone: "critical",
      title: { key: "failedSends.title", values: { emails: count("emails", f.failedLast24h) } },
      // The stored reason is the mail server's or the provider's own words: shown as it is.
      body: f.lastFailure ? { key: "failedSends.bodyReason", values: { reason: f.lastFailure } } : { key: "failedSends.body" },
      action: { content: { key: "failedSends.action" }, url: "/app/settings" },
    });
  }
  if (f.shopifyEmailPolicy === "send_anyway") {
    drafts.push({
      key: "shopify_email",
      tone: "warning",
      title: { key: "sendAnyway.title" },
      // Under "send anyway" Reclaim no longer asks Shopify (docs/decisions/075), so it cannot know: it says what to check.
      body: { key: "sendAnyway.body" },
      action: { content: { key: "sendAnyway.action" }, url: "/app/settings#shopify-email" },
    });
  } else if (f.heldForShopifyEmailLast7d > 0) {
    drafts.push({
      key: "shopify_email",
      tone: "info",
      title: { key: "heldForShopify.title" },
      body: { key: "heldForShopify.body", values: { carts: count("carts", f.heldForShopifyEmailLast7d) } },
      action: { content: { key: "heldForShopify.action" }, url: "/app/settings#shopify-email" },
    });
  }
  const s = f.shopifySync;
  if (s) {
    const since = s.lastSuccessAt ?? s.installedAt;
    const late = f.now.getTime() - since.getTime() > syncLateAfterMs(s.intervalMinutes);
    if (s.status !== "healthy" || late) {
      const minutes = Math.round((f.now.getTime() - since.getTime()) / 60_000);
      const age = minutes < 120 ? count("minutes", minutes) : count("hours", Math.round(minutes / 60));
      const sinceText: HealthText = { key: s.lastSuccessAt ? "sync.sinceLast" : "sync.sinceInstall", values: { age } };
      drafts.push({
        key: "sync",
        tone: s.status === "unhealthy" ? "critical" : "warning",
        title: { key: "sync.title" },
        body: s.lastError ? { key: "sync.bodyError", values: { since: sinceText, error: s.lastError } } : { key: "sync.body", values: { since: sinceText } },
        action: { content: { key: "sync.action" }, intent: "sync" },
      });
    }
  }
  if (f.shopDetailsProblem) {
    drafts.push({
      key: "shop_details",
      tone: "warning",
      title: { key: "shopDetails.title" },
      body: { key: "shopDetails.body", values: { problem: f.shopDetailsProblem, currency: f.currency ?? "USD", timezone: f.timezone ?? "UTC" } },
      action: { content: { key: "shopDetails.action" }, url: "/app/settings" },
    });
  }
  return localizeHealthIssues(
    drafts.map(({ action: { content, ...target }, ...d }) => ({
      ...d,
      action: { ...target, content: "" },
      text: { title: d.title, body: d.body, action: content },
      title: "",
      body: "",
    })),
    t,
  );
}
