/**
 * Merchant-facing sentences for privacy requests (Settings → Privacy). Client-safe and pure: the page's loader passes
 * the stored summary JSON through these.
 */
import type { TFunction } from "i18next";
import { translatorFor } from "../i18n/translator";

/** Shopify's compliance topics, with their catalogue keys (integrations:privacy.topics.<key>). */
const TOPIC_KEYS: Record<string, string> = {
  "customers/data_request": "dataRequest",
  "customers/redact": "customerRedact",
  "shop/redact": "shopRedact",
};

/** A topic's name for the page, in the language of `t` (English by default); an unknown topic is shown as Shopify names it. */
export function topicLabel(topic: string, t: TFunction = translatorFor("en")): string {
  const key = TOPIC_KEYS[topic];
  return key ? t(`integrations:privacy.topics.${key}`) : topic;
}

const num = (v: unknown) => (typeof v === "number" && Number.isFinite(v) ? v : 0);

/** "a, b and c" in the language of `t`. */
function list(t: TFunction, parts: string[]): string {
  if (parts.length <= 1) return parts.join("");
  const head = parts.slice(0, -1).reduce((acc, part) => t("integrations:privacy.outcome.listComma", { list: acc, item: part }));
  return t("integrations:privacy.outcome.listAnd", { list: head, item: parts[parts.length - 1] });
}

/** Sentences one after the other, as the language writes them (a space in English and German, none in Japanese). */
const sentences = (t: TFunction, parts: string[]) => parts.reduce((acc, part) => t("integrations:privacy.outcome.nextSentence", { first: acc, second: part }));

/**
 * One or two sentences saying what Reclaim did for a request, in the language of `t` (the admin's, from requireAdmin;
 * English by default).
 */
export function describeRequest(request: { topic: string; status: string; summary: string; hasExport: boolean }, t: TFunction = translatorFor("en")): string {
  const k = (key: string, options?: Record<string, unknown>) => t(`integrations:privacy.outcome.${key}`, options);
  /** A count with its noun (`2 abandoned checkouts`), or nothing when it is zero. */
  const count = (key: string, value: unknown) => (num(value) ? k(key, { count: num(value) }) : "");
  let s: Record<string, unknown> = {};
  try {
    s = JSON.parse(request.summary) as Record<string, unknown>;
  } catch {
    // an unreadable summary reads as empty
  }
  if (typeof s.error === "string") return k("unreadable", { error: s.error });
  if (request.status !== "done") return k("inProgress");

  if (request.topic === "customers/data_request") {
    const found = [
      count("abandonedCheckouts", s.recoveries),
      count("emailsSent", s.emailsSent),
      count("clicks", s.clicks),
      count("purchases", s.purchases),
      count("storedWebhooks", s.webhookDeliveries),
    ].filter(Boolean);
    const what = found.length ? k("found", { list: list(t, found) }) : k("noData");
    return sentences(t, [what, request.hasExport ? k("downloadAndSend") : k("fileDeleted")]);
  }

  if (request.topic === "customers/redact") {
    const withThem = [count("emails", s.messages), count("clicks", s.clicks)].filter(Boolean);
    const recoveries = count("abandonedCheckouts", s.recoveries);
    const removed = [
      recoveries && withThem.length ? k("withThem", { what: recoveries, list: list(t, withThem) }) : recoveries,
      count("purchases", s.purchases),
      count("contacts", s.contacts),
      count("storedWebhooks", s.webhookBodies),
    ].filter(Boolean);
    const parts = [removed.length ? k("deleted", { list: list(t, removed) }) : k("nothingLeft")];
    if (num(s.messagesCancelled)) parts.push(k("cancelled", { count: num(s.messagesCancelled) }));
    if (Array.isArray(s.keptSuppressions) && s.keptSuppressions.length) parts.push(k("keptHash"));
    return sentences(t, parts);
  }

  if (request.topic === "shop/redact" && s.kept) {
    return typeof s.installedAt === "string" ? k("notErasedOn", { date: s.installedAt.slice(0, 10) }) : k("notErased");
  }
  return k("done");
}
