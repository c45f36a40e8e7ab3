import { describe, expect, it } from "vitest";
import { BulkCheckoutAssembler, readLines, readLinesWithOffsets } from "~/sources/shopify/bulk-jsonl";
import {
  checkoutNodeToEvent,
  CheckoutNodeError,
  lineItemFromNode,
  tokensFromRecoveryUrl,
  consentFromMarketingState,
  type CheckoutNode,
} from "~/sources/shopify/to-source-event";

function node(overrides: Partial<CheckoutNode> = {}): CheckoutNode {
  return {
    id: "gid://shopify/AbandonedCheckout/36800000001234",
    name: "#36800000001234",
    abandonedCheckoutUrl: "https://reclaim-test.myshopify.com/60000001/checkouts/ac/0f3c2b9a7d/recover?key=abc123",
    completedAt: null,
    createdAt: "2026-11-20T10:00:00Z",
    updatedAt: "2026-11-20T10:05:00Z",
    discountCodes: ["WELCOME10"],
    customer: {
      id: "gid://shopify/Customer/7400000000001",
      firstName: "Léa",
      locale: "fr",
      defaultEmailAddress: {
        emailAddress: "Lea.Bernard@Example.com",
        marketingState: "SUBSCRIBED",
        marketingOptInLevel: "CONFIRMED_OPT_IN",
        marketingUpdatedAt: "2026-01-02T03:04:05Z",
      },
    },
    totalPriceSet: { shopMoney: { amount: "54.0", currencyCode: "USD" }, presentmentMoney: { amount: "49.68", currencyCode: "EUR" } },
    ...overrides,
  };
}

const lines = [
  {
    title: "Merino Crew Sweater",
    variantTitle: "Navy / M",
    quantity: 2,
    image: { url: "https://cdn.shopify.com/s/files/merino.jpg" },
    originalUnitPriceSet: { presentmentMoney: { amount: "22.08", currencyCode: "EUR" } },
  },
  { title: "Gift wrapping", variantTitle: null, quantity: 1, image: null, originalUnitPriceSet: { presentmentMoney: { amount: "5.52", currencyCode: "EUR" } } },
];

describe("AbandonedCheckout → CheckoutObserved", () => {
  it("maps a customer checkout: gid, cart token from the recovery URL, email, consent with its evidence, money in minor units, line items with images", () => {
    const event = checkoutNodeToEvent(node(), lines);
    expect(event).toMatchObject({
      kind: "checkout.observed",
      source: "shopify",
      externalId: "gid://shopify/AbandonedCheckout/36800000001234",
      checkoutToken: null,
      cartToken: "0f3c2b9a7d",
      name: "#36800000001234",
      email: "Lea.Bernard@Example.com",
      firstName: "Léa",
      shopifyCustomerId: "gid://shopify/Customer/7400000000001",
      locale: "fr",
      total: { amountMinor: 4968, currency: "EUR" },
      shopTotal: { amountMinor: 5400, currency: "USD" },
      discountCodes: ["WELCOME10"],
      recoveryUrl: "https://reclaim-test.myshopify.com/60000001/checkouts/ac/0f3c2b9a7d/recover?key=abc123",
      completedAt: null,
    });
    expect(event.consent).toEqual({
      state: "opt_in",
      source: "shopify.customer.defaultEmailAddress",
      detail: { marketingState: "SUBSCRIBED", marketingOptInLevel: "CONFIRMED_OPT_IN" },
      at: "2026-01-02T03:04:05Z",
    });
    expect(event.lineItems).toEqual([
      {
        title: "Merino Crew Sweater",
        variantTitle: "Navy / M",
        quantity: 2,
        imageUrl: "https://cdn.shopify.com/s/files/merino.jpg",
        unitPriceMinor: 2208,
        totalPriceMinor: 4416,
      },
      { title: "Gift wrapping", variantTitle: null, quantity: 1, imageUrl: null, unitPriceMinor: 552, totalPriceMinor: 552 },
    ]);
    expect(event.abandonedAt.toISOString()).toBe("2026-11-20T10:00:00.000Z");
    expect(event.updatedAt.toISOString()).toBe("2026-11-20T10:05:00.000Z");
  });

  it.each([
    ["SUBSCRIBED", "opt_in"],
    ["UNSUBSCRIBED", "opt_out"],
    ["NOT_SUBSCRIBED", "unknown"],
    ["PENDING", "unknown"],
    ["INVALID", "unknown"],
    ["REDACTED", "unknown"],
    [null, "unknown"],
  ])("marketingState %s → consent %s", (state, consent) => {
    expect(consentFromMarketingState(state)).toBe(consent);
  });

  it("a guest checkout has no email or consent in GraphQL (the webhook brings them)", () => {
    const event = checkoutNodeToEvent(node({ customer: null }), []);
    expect(event.email).toBeNull();
    expect(event.consent.state).toBe("unknown");
    expect(event.shopifyCustomerId).toBeNull();
  });

  it("an email refused as protected data (null emailAddress, or the whole defaultEmailAddress nulled) maps to no email, unknown consent", () => {
    const leaf = checkoutNodeToEvent(
      node({
        customer: {
          id: "gid://shopify/Customer/1",
          firstName: null,
          locale: null,
          defaultEmailAddress: { emailAddress: null, marketingState: "SUBSCRIBED", marketingOptInLevel: null, marketingUpdatedAt: null },
        },
      }),
      [],
    );
    expect(leaf.email).toBeNull();
    const whole = checkoutNodeToEvent(node({ customer: { id: "gid://shopify/Customer/1", firstName: null, locale: null, defaultEmailAddress: null } }), []);
    expect(whole.email).toBeNull();
    expect(whole.consent.state).toBe("unknown");
  });

  it("same shop and presentment money → no separate shop total; zero-decimal currencies stay whole", () => {
    const event = checkoutNodeToEvent(
      node({ totalPriceSet: { shopMoney: { amount: "7400.0", currencyCode: "JPY" }, presentmentMoney: { amount: "7400.0", currencyCode: "JPY" } } }),
      [],
    );
    expect(event.total).toEqual({ amountMinor: 7400, currency: "JPY" });
    expect(event.shopTotal).toBeNull();
  });

  it("completedAt maps to a Date; line items null means 'not read' (keep what is stored)", () => {
    const event = checkoutNodeToEvent(node({ completedAt: "2026-11-21T08:00:00Z" }), null);
    expect(event.completedAt?.toISOString()).toBe("2026-11-21T08:00:00.000Z");
    expect(event.lineItems).toBeNull();
  });

  it("reads a discountCodes that is not a list as no codes (once a TypeError, found by a property test)", () => {
    for (const discountCodes of ["WELCOME10", 5, { code: "X" }, null]) {
      expect(checkoutNodeToEvent(node({ discountCodes } as never), []).discountCodes).toEqual([]);
    }
  });

  it("refuses a node without id or times with a CheckoutNodeError", () => {
    expect(() => checkoutNodeToEvent(node({ id: "" }), [])).toThrow(CheckoutNodeError);
    expect(() => checkoutNodeToEvent(node({ createdAt: "not a date" }), [])).toThrow(CheckoutNodeError);
  });
});

describe("tokens in the recovery URL", () => {
  it.each([
    // Live shops (captured payload): the segment after /ac/ is the cart token, not the checkout token.
    [
      "https://pixel-testing-rs.myshopify.com/59026964593/checkouts/ac/Z2NwLXVzLWVhc3QxOjAxSkJaTUVRSjgzNUJUN1BTNjEzRFdRUFFQ/recover?key=0385163be3875d3a2117e982d9cc3517&locale=en-US",
      { checkoutToken: null, cartToken: "Z2NwLXVzLWVhc3QxOjAxSkJaTUVRSjgzNUJUN1BTNjEzRFdRUFFQ" },
    ],
    // Older shops: /checkouts/<checkout token>/recover.
    [
      "https://shop.myshopify.com/1234/checkouts/84ad78572dae52a8cbea7d55371afe89/recover?key=k",
      { checkoutToken: "84ad78572dae52a8cbea7d55371afe89", cartToken: null },
    ],
    ["https://checkout.shop.example/checkouts/cn/hWN1/recover", { checkoutToken: null, cartToken: "hWN1" }],
    ["https://shop.example/1/checkouts/ac/%E0%A4%A/recover", { checkoutToken: null, cartToken: null }],
    ["https://shop.example/cart", { checkoutToken: null, cartToken: null }],
    ["not a url", { checkoutToken: null, cartToken: null }],
    [null, { checkoutToken: null, cartToken: null }],
  ])("%s → %j", (url, tokens) => {
    expect(tokensFromRecoveryUrl(url)).toEqual(tokens);
  });
});

describe("bulk JSONL, one checkout at a time", () => {
  it("groups line items under the checkout they follow and reports out-of-order children", () => {
    const a = new BulkCheckoutAssembler();
    expect(a.push({ id: "gid://shopify/AbandonedCheckout/1", name: "#1" })).toBeNull();
    expect(a.push({ title: "A", __parentId: "gid://shopify/AbandonedCheckout/1" })).toBeNull();
    expect(a.push({ title: "B", __parentId: "gid://shopify/AbandonedCheckout/1" })).toBeNull();
    const first = a.push({ id: "gid://shopify/AbandonedCheckout/2" });
    expect(first?.node.id).toBe("gid://shopify/AbandonedCheckout/1");
    expect(first?.lineItems.map((l) => l.title)).toEqual(["A", "B"]);
    expect(first?.lineItems[0]).not.toHaveProperty("__parentId");
    a.push({ title: "late", __parentId: "gid://shopify/AbandonedCheckout/1" });
    expect(a.orphanParents).toEqual(new Set(["gid://shopify/AbandonedCheckout/1"]));
    expect(a.finish()?.node.id).toBe("gid://shopify/AbandonedCheckout/2");
    expect(a.roots).toBe(2);
  });

  it("splits a stream into lines across chunk boundaries, including multi-byte characters", async () => {
    const text = '{"a":"é"}\n{"b":2}\n\n{"c":"ü"}';
    const bytes = new TextEncoder().encode(text);
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        for (let i = 0; i < bytes.length; i += 3) controller.enqueue(bytes.slice(i, i + 3));
        controller.close();
      },
    });
    const out: string[] = [];
    for await (const line of readLines(stream)) out.push(line);
    expect(out).toEqual(['{"a":"é"}', '{"b":2}', '{"c":"ü"}']);
  });

  it("gives each line's byte offset in the file (multi-byte characters, chunk boundaries, a stream that starts part-way)", async () => {
    const text = '{"a":"é"}\n{"b":"日本"}\n\n{"c":"ü"}';
    const bytes = new TextEncoder().encode(text);
    const streamOf = (from: number) =>
      new ReadableStream<Uint8Array>({
        start(controller) {
          for (let i = from; i < bytes.length; i += 2) controller.enqueue(bytes.slice(i, i + 2));
          controller.close();
        },
      });
    const out: { text: string; offset: number; next: number }[] = [];
    for await (const line of readLinesWithOffsets(streamOf(0))) out.push(line);
    expect(out.map((l) => l.text)).toEqual(['{"a":"é"}', '{"b":"日本"}', '{"c":"ü"}']);
    for (const line of out) expect(new TextDecoder().decode(bytes.slice(line.offset, line.offset + Buffer.byteLength(line.text)))).toBe(line.text);
    expect(out[0]!.next).toBe(out[1]!.offset);
    expect(out[2]!.next).toBe(bytes.length);
    // Resumed from the second line's offset (a Range response): the same lines and offsets from there.
    const resumed: { text: string; offset: number; next: number }[] = [];
    for await (const line of readLinesWithOffsets(streamOf(out[1]!.offset), out[1]!.offset)) resumed.push(line);
    expect(resumed).toEqual(out.slice(1));
  });
});

describe("counterexamples property tests found (pinned)", () => {
  it("a checkouts/* line item quantity of 1e21 (an integer, but not a safe one) is read as 1, not stored as 1e21 (FC seed 971468713)", async () => {
    const { checkoutWebhookToEvent } = await import("~/sources/shopify/webhook-mapping");
    const event = checkoutWebhookToEvent({ token: " ", created_at: "1970-01-01T00:00:00.000Z", line_items: [{ quantity: 1e21 }] });
    expect(event.lineItems?.[0]?.quantity).toBe(1);
  });

  it("an AbandonedCheckout line item quantity past 2^53 is read as 1", () => {
    expect(
      lineItemFromNode({
        title: "A",
        variantTitle: null,
        quantity: 2 ** 60,
        image: null,
        originalUnitPriceSet: { presentmentMoney: { amount: "1.00", currencyCode: "USD" } },
      } as never).quantity,
    ).toBe(1);
  });
});
