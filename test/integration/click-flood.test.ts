/**
 * Public click links cannot flood storage: a burst of clicks on one email is stored once, a long flood at most
 * MAX_CLICKS_PER_MESSAGE times, and the campaign page counts clicks in SQL.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadApp } from "../helpers/app-server";
import { H, shopifyCheckout, startPipeline, type Pipeline } from "../helpers/pipeline";

let p: Pipeline;
let app: Awaited<ReturnType<typeof loadApp>>;

beforeAll(async () => {
  app = await loadApp();
  p = await startPipeline({ start: new Date("2027-06-07T08:00:00Z") });
});
afterAll(async () => {
  await p?.close();
  await app?.close();
});

describe("a flood of clicks", () => {
  it("stores a bounded number of rows, and the campaign's results count them", async () => {
    const { recordClick, MAX_CLICKS_PER_MESSAGE, CLICK_REPEAT_MS } = await import("~/email/public-links.server");
    const { messageLinks } = await import("~/email/links.server");
    const { campaignResults } = await import("~/models/campaign.server");
    const shop = await p.newShop();
    const t = p.clock.now();
    await p.ingest(shop, shopifyCheckout(t, { email: "flood@example.com" }));
    await p.runAt(new Date(t.getTime() + H));
    const message = await p.db.message.findFirstOrThrow({ where: { shopId: shop.id, status: "sent" } });
    const url = messageLinks(message.id).clickUrl;

    // A burst through the real route (link scanners, double taps, a script): one visit.
    const burst = await Promise.all(Array.from({ length: 40 }, () => app.handle(new Request(url))));
    expect(burst.every((r) => r.status === 302)).toBe(true);
    expect(await p.db.click.count({ where: { messageId: message.id } })).toBe(1);

    // A flood spread over days (each click past the repeat window): capped.
    const token = new URL(url).searchParams.get("t");
    const start = Date.now() + CLICK_REPEAT_MS;
    for (let i = 0; i < MAX_CLICKS_PER_MESSAGE + 30; i++) {
      const outcome = await recordClick(p.db, token, new Date(start + i * (CLICK_REPEAT_MS + 1000)));
      expect(outcome.ok).toBe(true);
    }
    expect(await p.db.click.count({ where: { messageId: message.id } })).toBe(MAX_CLICKS_PER_MESSAGE);

    const results = await campaignResults(p.db, shop.id, message.campaignId);
    expect(results.steps.find((s) => s.position === message.position)?.clicks).toBe(MAX_CLICKS_PER_MESSAGE);
    expect(results.steps.filter((s) => s.position !== message.position).every((s) => s.clicks === 0)).toBe(true);
  });
});
