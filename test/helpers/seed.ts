import type { PrismaClient } from "@prisma/client";

/**
 * Seeds a shop with recoveries from both sources and the rows the pipeline would have written (messages, clicks,
 * conversions), with known counts so tests can check what the dashboard shows.
 */
export async function seedShop(db: PrismaClient, domain: string, options: { now?: Date; currency?: string; prefix?: string } = {}) {
  const now = options.now ?? new Date();
  const currency = options.currency ?? "USD";
  const prefix = options.prefix ?? domain.split(".")[0]!;
  const shop = await db.shop.upsert({ where: { domain }, create: { domain, currency, name: prefix }, update: {} });
  const campaign = await db.campaign.create({
    data: {
      shopId: shop.id,
      name: "Default",
      isDefault: true,
      steps: { create: [1, 2, 3].map((position) => ({ position, delayMinutes: position * 60, subject: `Step ${position}`, bodyTemplate: "<p>Hi</p>" })) },
    },
    include: { steps: true },
  });
  const hoursAgo = (h: number) => new Date(now.getTime() - h * 3_600_000);
  const make = async (i: number, source: "shopify" | "stripe", extra: Record<string, unknown> = {}) => {
    const email = `${prefix}-buyer${i}@example.com`;
    const contact = await db.contact.create({ data: { shopId: shop.id, email } });
    return db.recovery.create({
      data: {
        shopId: shop.id,
        source,
        externalId: source === "shopify" ? `gid://shopify/AbandonedCheckout/${prefix}${i}` : `cs_test_${prefix}${i}`,
        name: source === "shopify" ? `#${1000 + i}` : null,
        contactId: contact.id,
        email,
        consent: "opt_in",
        totalMinor: 1000 * (i + 1),
        currency,
        recoveryUrl: "https://example.com/recover",
        abandonedAt: hoursAgo(10 + i),
        sourceUpdatedAt: hoursAgo(10 + i),
        lineItems: JSON.stringify([
          { title: `Product ${i}`, variantTitle: "M", quantity: 1, imageUrl: null, unitPriceMinor: 1000 * (i + 1), totalPriceMinor: 1000 * (i + 1) },
        ]),
        ...extra,
      },
    });
  };
  // 4 Shopify, 2 Stripe; one without email, one without consent.
  const shopifyRecoveries = [
    await make(0, "shopify"),
    await make(1, "shopify"),
    await make(2, "shopify", { email: null, contactId: null, notContactableReason: "no_email" }),
    await make(3, "shopify", { consent: "unknown" }),
  ];
  const stripeRecoveries = [await make(4, "stripe"), await make(5, "stripe")];
  // Messages: 3 sent (2 Shopify, 1 Stripe), 1 scheduled.
  const sent = [];
  for (const r of [shopifyRecoveries[0]!, shopifyRecoveries[1]!, stripeRecoveries[0]!]) {
    // As the send path stores it at hand-off: the rendered subject and HTML (with the buyer's signed links).
    const rendered = {
      subject: `You left something behind, ${prefix}`,
      bodyHtml: `<p>Hi ${prefix}</p><p><a href="https://app.example/email/click?t=${prefix}-signed">Return to your cart</a></p>`,
    };
    sent.push(
      await db.message.create({
        data: {
          shopId: shop.id,
          recoveryId: r.id,
          campaignId: campaign.id,
          stepId: campaign.steps[0]!.id,
          position: 1,
          status: "sent",
          scheduledFor: hoursAgo(9),
          sentAt: hoursAgo(9),
          toEmail: r.email,
          ...rendered,
        },
      }),
    );
  }
  await db.message.create({
    data: {
      shopId: shop.id,
      recoveryId: shopifyRecoveries[1]!.id,
      campaignId: campaign.id,
      stepId: campaign.steps[1]!.id,
      position: 2,
      status: "scheduled",
      scheduledFor: new Date(now.getTime() + 3_600_000),
    },
  });
  // Clicks on two messages; one link conversion (Shopify), one window conversion (Stripe).
  await db.click.create({ data: { shopId: shop.id, messageId: sent[0]!.id, recoveryId: shopifyRecoveries[0]!.id, clickedAt: hoursAgo(8) } });
  await db.click.create({ data: { shopId: shop.id, messageId: sent[2]!.id, recoveryId: stripeRecoveries[0]!.id, clickedAt: hoursAgo(8) } });
  await db.conversion.create({
    data: {
      shopId: shop.id,
      recoveryId: shopifyRecoveries[0]!.id,
      messageId: sent[0]!.id,
      method: "link",
      matchedBy: "completedAt",
      source: "shopify",
      externalId: shopifyRecoveries[0]!.externalId,
      amountMinor: 1000,
      currency,
      convertedAt: hoursAgo(7),
    },
  });
  await db.recovery.update({ where: { id: shopifyRecoveries[0]!.id }, data: { status: "recovered", completedAt: hoursAgo(7) } });
  await db.conversion.create({
    data: {
      shopId: shop.id,
      recoveryId: stripeRecoveries[0]!.id,
      messageId: sent[2]!.id,
      method: "window",
      matchedBy: "payment",
      source: "stripe",
      externalId: "cs_paid",
      amountMinor: 5500,
      currency,
      convertedAt: hoursAgo(6),
    },
  });
  return { shop, campaign, shopifyRecoveries, stripeRecoveries };
}
