/**
 * Merchant-facing sentences for privacy requests (Settings → Privacy). Client-safe and pure: the page's loader passes
 * the stored summary JSON through these.
 */

export const TOPIC_LABELS: Record<string, string> = {
  "customers/data_request": "Customer data request",
  "customers/redact": "Customer data erasure",
  "shop/redact": "Store data erasure",
};

const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;
const num = (v: unknown) => (typeof v === "number" && Number.isFinite(v) ? v : 0);

function list(parts: string[]): string {
  if (parts.length <= 1) return parts.join("");
  return `${parts.slice(0, -1).join(", ")} and ${parts[parts.length - 1]}`;
}

/** One or two sentences saying what Reclaim did for a request. */
export function describeRequest(request: { topic: string; status: string; summary: string; hasExport: boolean }): string {
  let s: Record<string, unknown> = {};
  try {
    s = JSON.parse(request.summary) as Record<string, unknown>;
  } catch {
    // an unreadable summary reads as empty
  }
  if (typeof s.error === "string") return `Reclaim could not read this request (${s.error}). Nothing was changed.`;
  if (request.status !== "done") return "In progress.";

  if (request.topic === "customers/data_request") {
    const found = [
      num(s.recoveries) && plural(num(s.recoveries), "abandoned checkout"),
      num(s.emailsSent) && plural(num(s.emailsSent), "email sent", "emails sent"),
      num(s.clicks) && plural(num(s.clicks), "click"),
      num(s.purchases) && plural(num(s.purchases), "purchase"),
      num(s.webhookDeliveries) && plural(num(s.webhookDeliveries), "stored webhook"),
    ].filter((p): p is string => Boolean(p));
    const what = found.length ? `Found ${list(found)}.` : "Reclaim holds no data about this customer.";
    return request.hasExport ? `${what} Download the file and send it to the customer.` : `${what} The file was deleted when the customer's data was erased.`;
  }

  if (request.topic === "customers/redact") {
    const withThem = [num(s.messages) && plural(num(s.messages), "email"), num(s.clicks) && plural(num(s.clicks), "click")].filter((p): p is string =>
      Boolean(p),
    );
    const removed = [
      num(s.recoveries) && `${plural(num(s.recoveries), "abandoned checkout")}${withThem.length ? ` (with ${list(withThem)})` : ""}`,
      num(s.purchases) && plural(num(s.purchases), "purchase"),
      num(s.contacts) && plural(num(s.contacts), "contact"),
      num(s.webhookBodies) && plural(num(s.webhookBodies), "stored webhook"),
    ].filter((p): p is string => Boolean(p));
    const sentences = [removed.length ? `Deleted ${list(removed)}; dashboard totals are unchanged.` : "Nothing left to delete."];
    if (num(s.messagesCancelled)) sentences.push(`${plural(num(s.messagesCancelled), "pending email was", "pending emails were")} cancelled.`);
    if (Array.isArray(s.keptSuppressions) && s.keptSuppressions.length) {
      sentences.push("Their unsubscribe is kept as a one-way hash of the address, so they are not emailed again.");
    }
    return sentences.join(" ");
  }

  if (request.topic === "shop/redact" && s.kept) {
    const at = typeof s.installedAt === "string" ? ` on ${s.installedAt.slice(0, 10)}` : "";
    return `Not erased: Reclaim was installed again${at}, after the uninstall this request refers to. Your data stays.`;
  }
  return "Done.";
}
