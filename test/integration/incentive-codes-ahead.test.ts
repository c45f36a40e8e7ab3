import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { enqueueIncentiveCodeJobs, INCENTIVE_CODES_JOB, messagesNeedingCodes } from "~/models/incentive-codes.server";
import { jobTable } from "../helpers/jobs";
import { H, MIN, shopifyCheckout, startPipeline, stripeSession, type Pipeline } from "../helpers/pipeline";
import type { ReceivedMail } from "../helpers/smtp";

/**
 * Issue 14: an incentive step's Shopify discount code is created ahead of its send, paced against the shop's Admin API
 * budget (docs/decisions/092), so the send never waits on Shopify and the codes never run the shop into THROTTLED.
 * The default campaign's third email (72 h) carries a 10 % code valid 7 days.
 */
const T0 = new Date("2027-03-01T09:00:00Z");
let p: Pipeline;

beforeAll(async () => {
  p = await startPipeline({ start: T0 });
});
afterAll(async () => {
  await p?.close();
});

const to = (mail: ReceivedMail) => mail.rcptTo[0];
const discountCalls = (domain: string) => p.admin.documents(domain).filter((d) => d.query.includes("discountCodeBasicCreate"));
// In the order the code job takes them (soonest due, then id): the three of a test are due at the same time.
const thirdEmails = (shopId: string) => p.db.message.findMany({ where: { shopId, position: 3 }, orderBy: [{ scheduledFor: "asc" }, { id: "asc" }] });

describe("incentive codes created ahead of the send", () => {
  it("an hour before the incentive email is due its code exists in Shopify; the send only reads it", async () => {
    const shop = await p.newShop();
    const start = p.clock.now();
    for (const email of ["ahead1@example.com", "ahead2@example.com", "ahead3@example.com"]) await p.ingest(shop, shopifyCheckout(start, { email }));
    await p.runAt(new Date(start.getTime() + 1 * H));
    await p.runAt(new Date(start.getTime() + 24 * H));
    await p.runAt(new Date(start.getTime() + 70 * H));
    expect(discountCalls(shop.domain)).toHaveLength(0); // not earlier than the look-ahead

    const ahead = new Date(start.getTime() + 71 * H);
    await p.runAt(ahead);
    const prepared = await thirdEmails(shop.id);
    expect(prepared.map((m) => [m.status, m.discountCreatedAt?.toISOString()])).toEqual(prepared.map(() => ["scheduled", ahead.toISOString()]));
    const codes = prepared.map((m) => m.discountCode);
    expect(new Set(codes).size).toBe(3);
    const discounts = p.admin.store(shop.domain).discounts;
    expect(discounts.map((d) => d.input.code).sort()).toEqual([...codes].sort());
    // Valid 7 days from when Shopify created it.
    for (const d of discounts) expect(d.input).toMatchObject({ startsAt: ahead.toISOString(), endsAt: new Date(ahead.getTime() + 7 * 24 * H).toISOString() });
    expect(p.sink.received.filter((m) => m.parsed.subject?.startsWith("10% off"))).toHaveLength(0);

    await p.runAt(new Date(start.getTime() + 72 * H));
    const sent = await thirdEmails(shop.id);
    expect(sent.map((m) => m.status)).toEqual(["sent", "sent", "sent"]);
    for (const m of sent) {
      const mail = p.sink.received.find((r) => to(r) === m.toEmail && r.parsed.subject?.startsWith("10% off"))!;
      expect(String(mail.parsed.html)).toContain(m.discountCode!);
    }
    // The sends asked Shopify for nothing: still one call per code, each answered.
    expect(discountCalls(shop.domain).map((d) => d.outcome)).toEqual(["ok", "ok", "ok"]);
  });

  it("codes wait for the shop's API budget instead of running it into THROTTLED, and the rest follow once it refills", async () => {
    // A small bucket that refills slowly: room for two mutations (10 points each) now.
    const shop = await p.newShop({}, { bucketSize: 25, restoreRate: 1 });
    const start = p.clock.now();
    for (const email of ["paced1@example.com", "paced2@example.com", "paced3@example.com"]) await p.ingest(shop, shopifyCheckout(start, { email }));
    for (const hours of [1, 24]) await p.runAt(new Date(start.getTime() + hours * H));
    p.admin.bucket(shop.domain).set(25);

    await p.runAt(new Date(start.getTime() + 71 * H));
    expect((await thirdEmails(shop.id)).map((m) => m.discountCreatedAt !== null)).toEqual([true, true, false]);
    expect(p.admin.stats(shop.domain).throttled).toBe(0);

    // A minute later Shopify's bucket has refilled (set here: the fake's bucket runs on real time, the test on its own).
    p.admin.bucket(shop.domain).set(25);
    await p.runAt(new Date(start.getTime() + 71 * H + MIN));
    expect((await thirdEmails(shop.id)).map((m) => m.discountCreatedAt !== null)).toEqual([true, true, true]);
    expect(p.admin.stats(shop.domain).throttled).toBe(0);
    expect(discountCalls(shop.domain)).toHaveLength(3);
  });

  it("a code Shopify refuses for good is not asked for again ahead; the send tries once more, then goes without it and says why", async () => {
    const shop = await p.newShop();
    const start = p.clock.now();
    await p.ingest(shop, shopifyCheckout(start, { email: "refused@example.com" }));
    // The merchant took back the discount permission: Shopify answers ACCESS_DENIED, which waiting will not change.
    p.admin.setScopes(shop.domain, "read_orders,read_customers,write_customers");
    for (const hours of [1, 24, 71]) await p.runAt(new Date(start.getTime() + hours * H));
    const [third] = await thirdEmails(shop.id);
    expect(third).toMatchObject({ status: "scheduled", discountCreatedAt: null });
    expect(third!.discountError).toBeTruthy();
    expect(discountCalls(shop.domain)).toHaveLength(1);

    await p.runAt(new Date(start.getTime() + 71 * H + 30 * MIN)); // another sweep: not asked again
    expect(discountCalls(shop.domain)).toHaveLength(1);

    await p.runAt(new Date(start.getTime() + 72 * H));
    const [sent] = await thirdEmails(shop.id);
    expect(sent).toMatchObject({ status: "sent", discountCode: null });
    expect(discountCalls(shop.domain)).toHaveLength(2);
    const log = await p.db.decisionLog.findMany({ where: { messageId: sent!.id } });
    expect(log.map((l) => `${l.detail ?? ""}`).join(" ")).toMatch(/incentive not created/);
  });

  it("the sweep's scan (step by step, docs/decisions/098) picks only Shopify carts' incentive emails due within the hour, with no code yet", async () => {
    const [both, stripeOnly, givenUp, noIncentive] = [await p.newShop(), await p.newShop(), await p.newShop(), await p.newShop()];
    const start = p.clock.now();
    await p.ingest(both, shopifyCheckout(start, { email: "scan-shopify@example.com" }));
    await p.ingest(both, stripeSession(start, { email: "scan-stripe@example.com" }));
    for (const email of ["scan-stripe1@example.com", "scan-stripe2@example.com"]) await p.ingest(stripeOnly, stripeSession(start, { email }));
    await p.ingest(givenUp, shopifyCheckout(start, { email: "scan-given-up@example.com" }));
    await p.ingest(noIncentive, shopifyCheckout(start, { email: "scan-no-incentive@example.com" }));
    for (const hours of [1, 24]) await p.runAt(new Date(start.getTime() + hours * H));
    // A code Shopify refused for good, and a merchant who took the incentive off the step.
    await p.db.message.updateMany({ where: { shopId: givenUp.id, position: 3 }, data: { discountError: "ACCESS_DENIED" } });
    await p.db.campaignStep.updateMany({ where: { campaign: { shopId: noIncentive.id }, position: 3 }, data: { incentiveType: null, incentiveValue: null } });
    const shops = [both, stripeOnly, givenUp, noIncentive];
    const needing = async (at: Date) => Promise.all(shops.map(async (shop) => (await messagesNeedingCodes(p.db, shop.id, at)).map((m) => m.id)));

    // Due at 72 h: not yet within the hour at 70 h 59 min.
    expect(await needing(new Date(start.getTime() + 71 * H - MIN))).toEqual([[], [], [], []]);
    const at = new Date(start.getTime() + 71 * H);
    const shopifyThird = await p.db.message.findFirstOrThrow({ where: { shopId: both.id, position: 3, recovery: { source: "shopify" } } });
    expect(await needing(at)).toEqual([[shopifyThird.id], [], [], []]);
    await jobTable(p.db).deleteMany({ where: { name: INCENTIVE_CODES_JOB } });
    expect(await enqueueIncentiveCodeJobs(p.db, at)).toBe(1);
    expect((await jobTable(p.db).findMany({ where: { name: INCENTIVE_CODES_JOB } })).map((j) => JSON.parse(j.payload))).toEqual([{ shopId: both.id }]);

    // Once its code exists, nothing is left to pick.
    await p.runAt(at);
    expect((await p.db.message.findUniqueOrThrow({ where: { id: shopifyThird.id } })).discountCreatedAt).toEqual(at);
    expect(await needing(at)).toEqual([[], [], [], []]);
    expect(await enqueueIncentiveCodeJobs(p.db, at)).toBe(0);
  });
});
