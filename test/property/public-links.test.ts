/**
 * The click and unsubscribe links are public: anyone can send any `t`. Whatever it is — random text, a real token with
 * a character changed, a token for the other purpose — the answer is a 4xx page (never a 5xx) and nothing is written.
 * Only an intact token does what the link is for.
 */
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startAdminApp } from "../helpers/admin-app";
import { seedShop } from "../helpers/seed";
import { TEST_SHOP } from "../helpers/shopify";
import { RUNS } from "./arbitraries";
import { jobTable } from "../helpers/jobs";

let admin: Awaited<ReturnType<typeof startAdminApp>>;
let db: Awaited<ReturnType<typeof startAdminApp>>["db"];
let messageId: string;
let tokens: { click: string; unsubscribe: string };

beforeAll(async () => {
  admin = await startAdminApp([TEST_SHOP]);
  db = admin.db;
  const seeded = await seedShop(db, TEST_SHOP);
  messageId = (await db.message.findFirstOrThrow({ where: { shopId: seeded.shop.id, status: "sent", recovery: { status: { not: "recovered" } } } })).id;
  const { messageLinks } = await import("~/email/links.server");
  const links = messageLinks(messageId);
  tokens = { click: new URL(links.clickUrl).searchParams.get("t")!, unsubscribe: new URL(links.unsubscribeUrl).searchParams.get("t")! };
});
afterAll(() => admin?.close());

/** Random strings, token-shaped strings, and real tokens with one character changed or swapped between purposes. */
const hostileToken = () =>
  fc.oneof(
    fc.string({ maxLength: 80 }),
    fc.string({ maxLength: 300, unit: "binary" }),
    fc.tuple(fc.stringMatching(/^[A-Za-z0-9_-]{1,64}$/), fc.stringMatching(/^[A-Za-z0-9_-]{0,30}$/)).map(([id, mac]) => `${id}.${mac}`),
    fc
      .tuple(fc.constantFrom("click", "unsubscribe") as fc.Arbitrary<"click" | "unsubscribe">, fc.nat(), fc.constantFrom(..."ABCxyz019-_.%"))
      .map(([which, at, c]) => {
        const t = tokens[which];
        const i = at % t.length;
        return t.slice(0, i) + c + t.slice(i + 1);
      }),
    fc.constant("test.AAAAAAAAAAAAAAAAAAAAAA"),
  );

const writes = async () => ({
  clicks: await db.click.count(),
  unsubscribed: await db.contact.count({ where: { unsubscribedAt: { not: null } } }),
  jobs: await jobTable(db).count(),
});

describe("public email links with a hostile `t`", () => {
  it("click: 400/410 page, no click recorded", async () => {
    const before = await writes();
    await fc.assert(
      fc.asyncProperty(hostileToken(), async (t) => {
        if (t === tokens.click) return;
        const response = await admin.app.handle(new Request(`https://reclaim.test/email/click?t=${encodeURIComponent(t)}`));
        expect([400, 410]).toContain(response.status);
        expect(response.headers.get("content-type")).toContain("text/html");
      }),
      { numRuns: RUNS.route },
    );
    expect(await writes()).toEqual(before);
  });

  it("unsubscribe page (GET) and one-click (POST): 400, nobody unsubscribed", async () => {
    const before = await writes();
    await fc.assert(
      fc.asyncProperty(hostileToken(), fc.boolean(), async (t, post) => {
        if (t === tokens.unsubscribe) return;
        const url = `https://reclaim.test/email/unsubscribe?t=${encodeURIComponent(t)}`;
        const response = await admin.app.handle(
          post ? new Request(url, { method: "POST", body: new URLSearchParams({ "List-Unsubscribe": "One-Click" }) }) : new Request(url),
        );
        // The test-email token ("test") is valid by design and answers 200 "this was a test".
        expect(response.status === 400 || (t.startsWith("test.") && response.status === 200)).toBe(true);
      }),
      { numRuns: RUNS.route },
    );
    expect(await writes()).toEqual(before);
  });

  it("a raw query string of any bytes never makes either endpoint fail", async () => {
    await fc.assert(
      fc.asyncProperty(fc.string({ maxLength: 120 }), fc.constantFrom("/email/click", "/email/unsubscribe"), async (raw, path) => {
        let request: Request;
        try {
          request = new Request(`https://reclaim.test${path}?${raw}`);
        } catch {
          return; // not a URL at all: never reaches the app
        }
        expect((await admin.app.handle(request)).status).toBeLessThan(500);
      }),
      { numRuns: RUNS.route },
    );
  });

  it("the intact tokens still work (so the refusals above are about the token)", async () => {
    const before = await db.click.count({ where: { messageId } });
    const click = await admin.app.handle(new Request(`https://reclaim.test/email/click?t=${tokens.click}`));
    expect(click.status).toBe(302);
    expect(await db.click.count({ where: { messageId } })).toBe(before + 1);
  });
});
