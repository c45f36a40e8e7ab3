import { describe, expect, it } from "vitest";
import { describeRequest } from "~/privacy/describe";
import { mentions, needlesFor, parseForExport, subjectFromPayload } from "~/privacy/subject";

describe("subjectFromPayload", () => {
  it("reads Shopify's customers/redact sample, with ids kept exactly as sent even past 2^53", () => {
    // 2^53 + 1 and a 64-bit order id: JSON.parse would round both.
    const raw = `{"shop_id":954889,"shop_domain":"{shop}.myshopify.com","customer":{"id":9007199254740993,"email":" John@Example.com ","phone":"555-625-1199"},"orders_to_redact":[820982911946154508,299938]}`;
    expect(subjectFromPayload(raw)).toEqual({
      customerId: "9007199254740993",
      email: "john@example.com",
      phone: "555-625-1199",
      orderIds: ["820982911946154508", "299938"],
      dataRequestId: null,
    });
  });

  it("reads a data request's orders and request id; ids sent as strings are accepted", () => {
    const raw = JSON.stringify({ customer: { id: "191167", email: null }, orders_requested: [299938, 280263], data_request: { id: 9999 } });
    expect(subjectFromPayload(raw)).toMatchObject({ customerId: "191167", email: null, orderIds: ["299938", "280263"], dataRequestId: "9999" });
  });

  it.each([
    ["not JSON", "{nope", "the request body is not JSON"],
    ["an array", "[1,2]", "the request body is not a JSON object"],
    ["no customer", `{"shop_id":1}`, "the request names no customer id, email or order"],
    ["an id that is not a number and no email", `{"customer":{"id":"abc","email":"not an email"}}`, "the request names no customer id, email or order"],
  ])("refuses %s with a reason", (_what, raw, reason) => {
    expect(() => subjectFromPayload(raw)).toThrow(reason);
  });
});

describe("mentions", () => {
  const needles = needlesFor({ emails: ["ann@example.com"], digits: ["191167"], tokens: ["shopify_customer_191167"], phones: ["12"] });

  it("finds an email in any case, and a numeric id only where no other digit touches it", () => {
    expect(mentions(`{"email":"ANN@example.com"}`, needles)).toBe(true);
    expect(mentions(`{"customer":{"id":191167}}`, needles)).toBe(true);
    expect(mentions(`{"id":"gid://shopify/Customer/191167"}`, needles)).toBe(true);
    expect(mentions(`{"variant_id":9191167,"sku":"1911670"}`, needles)).toBe(false);
    expect(mentions(`{"client_reference_id":"SHOPIFY_CUSTOMER_191167"}`, needles)).toBe(true);
  });

  it("ignores needles too short to identify anyone (a phone fragment would match prices)", () => {
    expect(needles.caseless).not.toContain("12");
    expect(mentions(`{"total":"12.00"}`, needles)).toBe(false);
  });
});

describe("mentions matches whole values only", () => {
  const ann = needlesFor({ emails: ["Ann@Example.com"], phones: ["+1 (613) 555-0142"], tokens: ["shopify_customer_191167"] });

  it.each([
    [`{"email":"ann@example.com"}`, true],
    [`{"email":"ANN@EXAMPLE.COM"}`, true],
    ["550 5.1.1 <ann@example.com>: mailbox unavailable", true],
    ["could not deliver to ann@example.com.", true],
    [`{"email":"joann@example.com"}`, false],
    [`{"email":"jo.ann@example.com"}`, false],
    [`{"email":"x+ann@example.com"}`, false],
    [`{"email":"ann@example.com.au"}`, false],
    [`{"email":"ann@example.community"}`, false],
    [`{"email":"ann@example.com-mail.net"}`, false],
  ])("email in %s: %s", (text, expected) => {
    expect(mentions(text, ann)).toBe(expected);
  });

  it.each([
    [`{"phone":"+16135550142"}`, true],
    [`{"phone":"+1 613-555-0142"}`, true],
    [`{"phone":"(613) 555 0142"}`, false],
    [`{"phone":"+161355501420"}`, false],
    [`{"phone":"+716135550142"}`, false],
    [`{"client_reference_id":"shopify_customer_191167"}`, true],
    [`{"client_reference_id":"shopify_customer_1911670"}`, false],
    [`{"client_reference_id":"xshopify_customer_191167"}`, false],
  ])("phone or token in %s: %s", (text, expected) => {
    expect(mentions(text, ann)).toBe(expected);
  });

  it("keeps a coarse prefilter for the database that every exact match passes", () => {
    expect(ann.caseless).toEqual(expect.arrayContaining(["ann@example.com", "shopify_customer_191167", "0142"]));
  });
});

describe("parseForExport", () => {
  it("keeps safe numbers as numbers and unsafe integers as their exact digits", () => {
    expect(parseForExport(`{"qty":2,"price":12.5,"id":820982911946154508}`)).toEqual({ qty: 2, price: 12.5, id: "820982911946154508" });
  });
});

describe("describeRequest", () => {
  it("says what an erasure removed, that totals are kept, and what was cancelled", () => {
    const summary = JSON.stringify({
      recoveries: 2,
      messages: 6,
      clicks: 1,
      purchases: 1,
      contacts: 1,
      webhookBodies: 4,
      messagesCancelled: 2,
      keptSuppressions: [{ emailHash: "sha256:x" }],
    });
    expect(describeRequest({ topic: "customers/redact", status: "done", summary, hasExport: false })).toBe(
      "Deleted 2 abandoned checkouts (with 6 emails and 1 click), 1 purchase, 1 contact and 4 stored webhooks; dashboard totals are unchanged. " +
        "2 pending emails were cancelled. Their unsubscribe is kept as a one-way hash of the address, so they are not emailed again.",
    );
  });

  it("says when nothing was held, when a request could not be read, and when a store erasure was declined", () => {
    expect(describeRequest({ topic: "customers/data_request", status: "done", summary: "{}", hasExport: true })).toBe(
      "Reclaim holds no data about this customer. Download the file and send it to the customer.",
    );
    expect(describeRequest({ topic: "customers/redact", status: "done", summary: `{"error":"the request body is not JSON"}`, hasExport: false })).toBe(
      "Reclaim could not read this request (the request body is not JSON). Nothing was changed.",
    );
    expect(describeRequest({ topic: "shop/redact", status: "done", summary: `{"kept":true,"installedAt":"2027-01-02T03:04:05.000Z"}`, hasExport: false })).toBe(
      "Not erased: Reclaim was installed again on 2027-01-02, after the uninstall this request refers to. Your data stays.",
    );
  });
});
