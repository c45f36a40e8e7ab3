import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { H, shopifyCheckout, startPipeline, stripePayment, stripeSession, type Pipeline } from "../helpers/pipeline";

const DAY = 24 * H;
let p: Pipeline;
beforeAll(async () => {
  p = await startPipeline({ start: new Date("2027-03-01T09:00:00Z") });
});
afterAll(() => p?.close());

const statusOf = async (id: string) => (await p.db.recovery.findUniqueOrThrow({ where: { id } })).status;

describe("a recovery that did not come back", () => {
  it("becomes lost once every email is out and the attribution window has passed since the last one; a later purchase through its link still recovers it", async () => {
    const shop = await p.newShop(); // default campaign: emails at 1 h, 24 h and 72 h; attribution window 5 days
    const t = p.clock.now();
    const session = stripeSession(t);
    const { recoveryId } = (await p.ingest(shop, session)) as { recoveryId: string };
    const other = (await p.ingest(shop, shopifyCheckout(t))) as { recoveryId: string };

    for (const hours of [1, 24, 72]) await p.runAt(new Date(t.getTime() + hours * H));
    expect(await p.db.message.count({ where: { recoveryId, status: "sent" } })).toBe(3);
    expect(await statusOf(recoveryId)).toBe("contacting");

    // The other buyer orders on day 4: recovered, never lost.
    await p.ingest(shop, {
      kind: "purchase.observed",
      source: "shopify",
      externalId: "gid://shopify/Order/1",
      email: null,
      checkoutToken: (await p.db.recovery.findUniqueOrThrow({ where: { id: other.recoveryId } })).checkoutToken,
      amount: { amountMinor: 10050, currency: "USD" },
      occurredAt: new Date(t.getTime() + 4 * DAY),
    });

    const lastEmail = new Date(t.getTime() + 72 * H);
    await p.runAt(new Date(lastEmail.getTime() + 5 * DAY - 60_000));
    expect(await statusOf(recoveryId)).toBe("contacting"); // still inside the window: a purchase would count

    await p.runAt(new Date(lastEmail.getTime() + 5 * DAY + 60_000));
    expect(await statusOf(recoveryId)).toBe("lost");
    expect(await statusOf(other.recoveryId)).toBe("recovered");
    // The merchant can find it under its status.
    expect(await p.db.recovery.count({ where: { shopId: shop.id, status: "lost" } })).toBe(1);

    // Stripe's recovery link lives 30 days: paying through it later is still a recovery.
    await p.ingest(
      shop,
      stripePayment(session.email!, new Date(t.getTime() + 12 * DAY), { recoveredFrom: session.externalId, amount: { amountMinor: 123450, currency: "EUR" } }),
    );
    expect(await statusOf(recoveryId)).toBe("recovered");
  });

  it("stays open while Reclaim never wrote (no consent): 'lost' means an email went out and nothing came back", async () => {
    const shop = await p.newShop();
    const t = p.clock.now();
    const { recoveryId } = (await p.ingest(
      shop,
      stripeSession(t, { consent: { state: "opt_out", source: "stripe.consent.promotions", detail: { promotions: "opt_out" } } }),
    )) as { recoveryId: string };
    await p.runAt(new Date(t.getTime() + 20 * DAY));
    expect(await p.db.message.count({ where: { recoveryId, status: "sent" } })).toBe(0);
    expect(await statusOf(recoveryId)).toBe("open");
  });
});
