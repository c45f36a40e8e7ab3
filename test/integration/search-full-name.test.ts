// Issue 21: a merchant finds a recovery by the buyer's last name or full name ("Ashby", "Robin Ashby"), from what
// Shopify (GraphQL poll and checkouts webhook) and Stripe (customer_details.name) report, through the real mappers,
// ingest and list; a data export includes the name, and after customers/redact the recovery is no longer found.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { checkoutNodeToEvent } from "~/sources/shopify/to-source-event";
import { minimiseWebhookBody } from "~/sources/shopify/webhook-fields";
import { checkoutWebhookToEvent } from "~/sources/shopify/webhook-mapping";
import { expiredSessionToCheckout } from "~/sources/stripe/to-source-event";
import { startPipeline, type Pipeline } from "../helpers/pipeline";

const T0 = new Date("2027-03-01T09:00:00Z");
let p: Pipeline;

beforeAll(async () => {
  p = await startPipeline({ start: T0 });
});
afterAll(async () => {
  await p?.close();
});

const emails = async (shopId: string, search: string) => {
  const { listRecoveries } = await import("~/models/recovery-list.server");
  return (await listRecoveries(p.db, { shopId, filters: { search } })).rows.map((r) => r.email);
};

// As stored: the body cut down to the fields the mappers read (app/sources/shopify/webhook-fields.ts) before mapping.
const webhookCheckout = (n: number, customer: Record<string, unknown> | null, billing: Record<string, unknown> | null = null) =>
  checkoutWebhookToEvent(
    JSON.parse(
      minimiseWebhookBody(
        "checkouts/update",
        JSON.stringify({
          token: `tok-name-${n}`,
          name: `#${2000 + n}`,
          email: `name-buyer${n}@example.com`,
          created_at: T0.toISOString(),
          updated_at: T0.toISOString(),
          currency: "USD",
          total_price: "20.00",
          buyer_accepts_marketing: true,
          abandoned_checkout_url: `https://acme.example/1/checkouts/ac/tok-name-${n}/recover?key=k`,
          customer,
          billing_address: billing,
          line_items: [{ title: "Mug", quantity: 1, price: "20.00" }],
        }),
      ),
    ),
  );

describe("search by the buyer's name", () => {
  it("finds Shopify and Stripe carts by last name and by 'first last', case-insensitively, and not by someone else's name", async () => {
    const shop = await p.newShop();
    // Webhook: the customer object carries both names.
    await p.ingest(shop, webhookCheckout(1, { id: 501, email: "name-buyer1@example.com", first_name: "Robin", last_name: "Ashby" }));
    // Webhook for a guest: the name is only on the billing address.
    await p.ingest(shop, webhookCheckout(2, null, { first_name: "Kim", last_name: "Okonkwo-Baptiste" }));
    // The GraphQL poll: customer firstName and lastName.
    await p.ingest(
      shop,
      checkoutNodeToEvent(
        {
          id: "gid://shopify/AbandonedCheckout/777",
          name: "#2003",
          abandonedCheckoutUrl: "https://acme.example/1/checkouts/ac/tok-name-3/recover?key=k",
          completedAt: null,
          createdAt: T0.toISOString(),
          updatedAt: T0.toISOString(),
          discountCodes: [],
          customer: {
            id: "gid://shopify/Customer/503",
            firstName: "Dana",
            lastName: "Whitlock",
            locale: "en",
            defaultEmailAddress: {
              emailAddress: "name-buyer3@example.com",
              marketingState: "SUBSCRIBED",
              marketingOptInLevel: "SINGLE_OPT_IN",
              marketingUpdatedAt: T0.toISOString(),
            },
          },
          totalPriceSet: { shopMoney: { amount: "20.0", currencyCode: "USD" }, presentmentMoney: { amount: "20.0", currencyCode: "USD" } },
        },
        [],
      ),
    );
    // Stripe: one unsplit name, kept as given.
    await p.ingest(
      shop,
      expiredSessionToCheckout(
        {
          id: "cs_test_name4",
          object: "checkout.session",
          created: Math.floor(T0.getTime() / 1000),
          currency: "usd",
          amount_total: 2000,
          customer_details: { email: "name-buyer4@example.com", name: "María José de la Cruz" },
          consent: { promotions: "opt_in" },
        },
        { eventCreated: T0, lineItems: [], lineItemsUnavailable: null, fallbackCurrency: "USD" },
      ),
    );

    expect(await emails(shop.id, "Ashby")).toEqual(["name-buyer1@example.com"]);
    expect(await emails(shop.id, "robin ashby")).toEqual(["name-buyer1@example.com"]);
    expect(await emails(shop.id, "Okonkwo")).toEqual(["name-buyer2@example.com"]);
    expect(await emails(shop.id, "Kim Okonkwo-Baptiste")).toEqual(["name-buyer2@example.com"]);
    expect(await emails(shop.id, "Whitlock")).toEqual(["name-buyer3@example.com"]);
    expect(await emails(shop.id, "Dana Whitlock")).toEqual(["name-buyer3@example.com"]);
    expect(await emails(shop.id, "de la cruz")).toEqual(["name-buyer4@example.com"]);
    expect(await emails(shop.id, "María José de la Cruz")).toEqual(["name-buyer4@example.com"]);
    // Names are not mixed across buyers.
    expect(await emails(shop.id, "Robin Whitlock")).toEqual([]);
    // Another shop never sees them.
    const other = await p.newShop();
    expect(await emails(other.id, "Ashby")).toEqual([]);
  });

  it("a later observation without a last name keeps the one known; the export includes it; after customers/redact the name finds nothing", async () => {
    const shop = await p.newShop();
    await p.ingest(shop, webhookCheckout(11, { id: 511, email: "name-buyer11@example.com", first_name: "Robin", last_name: "Ashby" }));
    // The poll later reports the same checkout for a guest (GraphQL has no name for it): the name stays.
    const later = webhookCheckout(11, null);
    await p.ingest(shop, { ...later, updatedAt: new Date(T0.getTime() + 60_000) });
    await p.ingest(shop, webhookCheckout(12, { id: 512, email: "name-buyer12@example.com", first_name: "Sam", last_name: "Ashby" }));
    expect((await emails(shop.id, "Ashby")).sort()).toEqual(["name-buyer11@example.com", "name-buyer12@example.com"]);

    const subject = { customerId: "511", email: "name-buyer11@example.com", phone: null, orderIds: [], dataRequestId: null };
    const { exportCustomerData } = await import("~/privacy/export.server");
    const { document } = await exportCustomerData(p.db, shop, subject, T0);
    expect(document.recoveries).toEqual([expect.objectContaining({ email: "name-buyer11@example.com", fullName: "Robin Ashby" })]);

    const { redactCustomer } = await import("~/privacy/redact-customer.server");
    await redactCustomer(p.db, shop, subject, T0);
    expect(await emails(shop.id, "Robin Ashby")).toEqual([]);
    expect(await emails(shop.id, "Ashby")).toEqual(["name-buyer12@example.com"]);
    // Nothing of the name is left in the shop's rows (the generated search column included).
    const left = await p.db.$queryRaw<{ n: bigint }[]>`SELECT count(*) AS n FROM "Recovery" WHERE "shopId" = ${shop.id} AND "searchText" LIKE '%robin%'`;
    expect(Number(left[0]!.n)).toBe(0);
  });

  it("the name search uses the trigram index, not a scan of the shop's recoveries", async () => {
    // With sequential scans priced out, a plan can only avoid them through an index; the GIN index must be usable.
    const plan = await p.db.$transaction(async (tx) => {
      await tx.$executeRawUnsafe("SET LOCAL enable_seqscan = off");
      return tx.$queryRawUnsafe<{ "QUERY PLAN": string }[]>(`EXPLAIN SELECT id FROM "Recovery" WHERE "searchText" LIKE '%robin ashby%'`);
    });
    expect(plan.map((r) => r["QUERY PLAN"]).join("\n")).toContain("Recovery_searchText_idx");
  });
});
