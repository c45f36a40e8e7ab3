// Which Stripe connection is "the" shop's connection when more than one row exists (a script or an older version can
// leave two): Settings, the Overview and Settings › Stripe must all describe the same one, the oldest — the one whose
// endpoint Stripe was given first and that connecting again updates (app/models/stripe-connection.server.ts).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startAdminApp } from "../helpers/admin-app";
import { TEST_SHOP } from "../helpers/shopify";

let admin: Awaited<ReturnType<typeof startAdminApp>>;

beforeAll(async () => {
  admin = await startAdminApp();
  await admin.data("/app/settings", "routes/app.settings._index"); // the first authenticated request stores the shop
  const shop = await admin.db.shop.findUniqueOrThrow({ where: { domain: TEST_SHOP } });
  const row = (createdAt: string, lastEventAt: string, apiKeyLast4: string) => ({
    shopId: shop.id,
    webhookSecretEncrypted: "unused-by-these-pages",
    apiKeyLast4,
    createdAt: new Date(createdAt),
    lastEventAt: new Date(lastEventAt),
  });
  // Created out of order on purpose: the newer row is inserted first.
  await admin.db.stripeConnection.create({ data: row("2026-11-20T10:00:00Z", "2026-12-01T09:00:00Z", "NEW1") });
  await admin.db.stripeConnection.create({ data: row("2026-10-01T10:00:00Z", "2026-11-15T08:00:00Z", "OLD1") });
});
afterAll(() => admin?.close());

describe("the shop's Stripe connection", () => {
  it("is the same, oldest, connection on Settings, the Overview and Settings › Stripe", async () => {
    const stripePage = await admin.data("/app/settings/stripe", "routes/app.settings.stripe");
    expect(stripePage.status).toBe(200);
    expect(stripePage.body.connection).toMatchObject({ apiKeyLast4: "OLD1", lastEventAt: "2026-11-15T08:00:00.000Z" });

    const settings = await admin.data("/app/settings", "routes/app.settings._index");
    expect(settings.status).toBe(200);
    expect(settings.body.stripe).toEqual({ connectedAt: "2026-10-01T10:00:00.000Z", lastEventAt: "2026-11-15T08:00:00.000Z", apiKeyLast4: "OLD1" });

    const overview = await admin.data("/app", "routes/app._index");
    expect(overview.status).toBe(200);
    expect(overview.body.sync.stripe).toEqual({ connectedAt: "2026-10-01T10:00:00.000Z", lastEventAt: "2026-11-15T08:00:00.000Z" });
  });
});
