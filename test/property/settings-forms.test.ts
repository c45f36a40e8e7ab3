/**
 * The merchant's forms, posted with any values at all: each answer is a save (200) or field errors (400/422) — never a
 * 500 — an answer with errors leaves every row as it was, and whatever was saved still loads.
 */
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startAdminApp } from "../helpers/admin-app";
import { seedShop } from "../helpers/seed";
import { embeddedRequest, TEST_SHOP } from "../helpers/shopify";
import { RUNS } from "./arbitraries";

let admin: Awaited<ReturnType<typeof startAdminApp>>;
let db: Awaited<ReturnType<typeof startAdminApp>>["db"];
let shopId: string;
let campaignId: string;
let stepId: string;

beforeAll(async () => {
  // Stripe API calls (an API key typed into the form) must fail fast, not wait on a network: nothing listens here.
  process.env.STRIPE_API_BASE = "http://127.0.0.1:9";
  admin = await startAdminApp([TEST_SHOP]);
  db = admin.db;
  const seeded = await seedShop(db, TEST_SHOP);
  shopId = seeded.shop.id;
  campaignId = seeded.campaign.id;
  stepId = seeded.campaign.steps[0]!.id;
  // The first sign-in records the granted scopes on the Shop row; done here so that it is not mistaken for a form's write.
  await admin.data("/app/settings", "routes/app.settings._index");
});
afterAll(() => admin?.close());

/** A form value: a plausible one, an edge one, or any text. */
const value = (...plausible: string[]) =>
  fc.oneof(
    { weight: 3, arbitrary: fc.constantFrom(...plausible) },
    {
      weight: 1,
      arbitrary: fc.constantFrom(
        "",
        " ",
        "0",
        "-1",
        "1e3",
        "0x10",
        "24.5",
        "NaN",
        "99999999999999999999",
        "null",
        "true",
        "<script>",
        "{{ x }}",
        "é😀",
        "a".repeat(5000),
      ),
    },
    { weight: 2, arbitrary: fc.string({ maxLength: 60 }) },
  );
const form = (fields: Record<string, fc.Arbitrary<string>>) => fc.record(fields, { requiredKeys: [] }) as fc.Arbitrary<Record<string, string>>;

const rows = async () =>
  JSON.stringify([
    await db.shop.findUniqueOrThrow({ where: { id: shopId } }),
    await db.campaign.findUniqueOrThrow({ where: { id: campaignId }, include: { steps: { orderBy: { position: "asc" } } } }),
    await db.stripeConnection.findMany({ where: { shopId } }),
  ]);

async function expectSaveOrRefusal(path: string, routeId: string, fields: Record<string, string>) {
  const before = await rows();
  const { status, body } = await admin.post(path, routeId, fields);
  expect([200, 400, 422], JSON.stringify(body).slice(0, 300)).toContain(status);
  if (status !== 200) {
    expect(await rows()).toBe(before); // nothing half-written
  } else {
    // What was saved is readable: the page still renders.
    expect((await admin.app.handle(embeddedRequest(path))).status).toBe(200);
  }
  return status;
}

describe("settings forms with any values", () => {
  it("recovery policy", async () => {
    const seen = new Set<number>();
    await fc.assert(
      fc.asyncProperty(
        // A valid policy with any of its fields replaced by anything (none replaced: it must save).
        form({
          consentPolicy: value("explicit", "implied"),
          frequencyCapHours: value("1", "16", "720", "721"),
          quietHoursStart: value("21:00", "", "24:00", "9:00"),
          quietHoursEnd: value("08:00", "", "23:59"),
          timezone: value("Europe/Paris", "UTC", "America/Argentina/Buenos_Aires", "Etc/GMT+14", "Mars/Base"),
          attributionWindowDays: value("1", "5", "30", "31"),
        }),
        async (changes) => {
          const valid = {
            consentPolicy: "implied",
            frequencyCapHours: "24",
            quietHoursStart: "",
            quietHoursEnd: "",
            timezone: "UTC",
            attributionWindowDays: "7",
          };
          seen.add(await expectSaveOrRefusal("/app/settings", "routes/app.settings._index", { intent: "policy", ...valid, ...changes }));
        },
      ),
      { numRuns: RUNS.route, examples: [[{}]] },
    );
    expect(seen).toEqual(new Set([200, 400])); // both branches were exercised
  });

  it("email settings", async () => {
    await fc.assert(
      fc.asyncProperty(
        form({
          emailTransport: value("log", "smtp"),
          senderName: value("Shop", ""),
          senderEmail: value("shop@example.com", "not-an-email", ""),
          replyTo: value("help@example.com", ""),
          smtpHost: value("smtp.example.com", "127.0.0.1", "bad host!"),
          smtpPort: value("587", "465", "0", "65536"),
          smtpSecure: value("true", "false", "on"),
          smtpUser: value("apikey", ""),
          smtpPassword: value("a-smtp-password-123", ""),
          postalAddress: value("1 Main St, Springfield", ""),
        }),
        async (fields) => void (await expectSaveOrRefusal("/app/settings", "routes/app.settings._index", { intent: "email", ...fields })),
      ),
      { numRuns: RUNS.route },
    );
  });

  it("campaign step", async () => {
    await fc.assert(
      fc.asyncProperty(
        form({
          delayHours: value("1", "24", "0.05", "721"),
          subject: value("Your cart at {{ shop.name }}", "", "{{ nope }}"),
          bodyTemplate: value(
            "<p>Hi {{ customer.first_name | default: 'there' }}</p>",
            "{% if %}",
            "{% include 'package.json' %}",
            "{% for i in (1..100000000) %}x{% endfor %}",
          ),
          incentiveType: value("", "percentage", "fixed_amount", "free"),
          incentiveValue: value("10", "101", "-5", ""),
          incentiveExpiresDays: value("7", "0", "91", ""),
        }),
        async (fields) =>
          void (await expectSaveOrRefusal(`/app/campaigns/${campaignId}`, "routes/app.campaigns.$id", { intent: "save-step", stepId, ...fields })),
      ),
      { numRuns: RUNS.route },
    );
  });

  it("campaign filters", async () => {
    await fc.assert(
      fc.asyncProperty(
        form({
          name: value("Default", "", "x".repeat(101)),
          sources: value("both", "shopify", "stripe", "paypal"),
          minCart: value("25", "25.50", "-1", "abc", ""),
          currencies: value("USD,EUR", "usd", "US", ""),
        }),
        async (fields) => void (await expectSaveOrRefusal(`/app/campaigns/${campaignId}`, "routes/app.campaigns.$id", { intent: "filters", ...fields })),
      ),
      { numRuns: RUNS.route },
    );
  });

  it("Stripe connection", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom("connect", "rotate", "set-api-key"),
        form({
          webhookSecret: value("whsec_propertyFormSecret0123456789abcd", "whsec_", "sk_live_x"),
          apiKey: value("", "pk_test_123", "sk_test_notAKeyWeAccept"),
        }),
        async (intent, fields) => {
          const connection = await db.stripeConnection.findFirst({ where: { shopId } });
          await expectSaveOrRefusal("/app/settings/stripe", "routes/app.settings.stripe", { intent, connectionId: connection?.id ?? "", ...fields });
        },
      ),
      { numRuns: RUNS.route },
    );
  });
});
