// Issue 19 on the Recoveries pages: a Japanese or German admin reads the list, a recovery's timeline and an email as
// sent in their own language, with dates in their locale, and sees which language each email went out in (nothing
// for emails sent before Reclaim stored it).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startAdminApp } from "../helpers/admin-app";
import { seedShop } from "../helpers/seed";
import { embeddedRequest, signSessionToken, TEST_SHOP } from "../helpers/shopify";

let admin: Awaited<ReturnType<typeof startAdminApp>>;
let seeded: Awaited<ReturnType<typeof seedShop>>;
let sentId: string;

beforeAll(async () => {
  admin = await startAdminApp([TEST_SHOP]);
  seeded = await seedShop(admin.db, TEST_SHOP, { prefix: "alpha" });
  const sent = await admin.db.message.findFirstOrThrow({ where: { recoveryId: seeded.shopifyRecoveries[1]!.id, status: "sent" } });
  sentId = sent.id;
  await admin.db.message.update({ where: { id: sentId }, data: { language: "de" } });
});
afterAll(() => admin?.close());

/** The page as the admin opens it: Shopify adds the staff member's language as `locale`. */
const page = async (path: string, locale?: string) => {
  const url = locale ? `${path}${path.includes("?") ? "&" : "?"}locale=${locale}` : path;
  const response = await admin.app.handle(embeddedRequest(url));
  expect(response.status).toBe(200);
  return (await response.text()).replace(/<!-- -->/g, "");
};

describe("the Recoveries pages in the admin's language", () => {
  it("a Japanese admin reads the list, the timeline and the sent email's language in Japanese", async () => {
    const list = await page("/app/recoveries", "ja");
    expect(list).toContain("<title>カゴ落ち回収 · Reclaim</title>");
    expect(list).toContain("送信済みメール");
    expect(list).toContain("メールは送信されません：購入者がマーケティングメールの受信に同意していません");

    const detail = await page(`/app/recoveries/${seeded.shopifyRecoveries[1]!.id}`, "ja");
    expect(detail).toContain("タイムライン");
    expect(detail).toMatch(/メール1を.+に送信しました — 件名：「You left something behind, alpha」/);
    expect(detail).toContain("言語：ドイツ語");
    expect(detail).toContain("このメールを表示");
    expect(detail).not.toContain("Timeline");

    // Later requests carry no `locale`: the language the admin opened the app in is kept.
    const email = await page(`/app/recoveries/${seeded.shopifyRecoveries[1]!.id}/emails/${sentId}`);
    expect(email).toContain("<title>送信されたメール1 · Reclaim</title>");
    expect(email).toContain("言語：ドイツ語");
  });

  it("a German admin sees German, an English admin English; an email sent before the language was stored names none", async () => {
    const german = await page(`/app/recoveries/${seeded.shopifyRecoveries[1]!.id}`, "de");
    expect(german).toContain("Zeitleiste");
    expect(german).toContain("Sprache: Deutsch");

    const english = await page(`/app/recoveries/${seeded.shopifyRecoveries[1]!.id}`, "en");
    expect(english).toMatch(/Email 1 sent on .+ — subject: “You left something behind, alpha”/);
    expect(english.match(/Language: German/g)).toHaveLength(1);
    const older = await page(`/app/recoveries/${seeded.shopifyRecoveries[0]!.id}`, "en");
    expect(older).toContain("Email 1 sent on");
    expect(older).not.toContain("Language:");
  });

  it("a buyer's name is family name first for a Japanese admin, given name first otherwise", async () => {
    const recovery = seeded.shopifyRecoveries[2]!;
    await admin.db.recovery.update({ where: { id: recovery.id }, data: { firstName: "優希", lastName: "鈴木" } });
    expect(await page(`/app/recoveries/${recovery.id}`, "ja")).toContain("(鈴木 優希)");
    expect(await page(`/app/recoveries/${recovery.id}`, "de")).toContain("(優希 鈴木)");
    await admin.db.recovery.update({ where: { id: recovery.id }, data: { lastName: null } });
    expect(await page(`/app/recoveries/${recovery.id}`, "ja")).toContain("(優希)");
  });

  it("two staff members of one shop each keep their own language on the pages that follow", async () => {
    const as = async (sub: string, path: string) => {
      const response = await admin.app.handle(embeddedRequest(path, signSessionToken({ sub })));
      expect(response.status).toBe(200);
      return (await response.text()).replace(/<!-- -->/g, "");
    };
    expect(await as("7001", "/app/recoveries?locale=ja")).toContain('<html lang="ja"');
    expect(await as("7002", "/app/recoveries?locale=de")).toContain('<html lang="de"');
    // Neither later request says a language: each staff member gets the one they opened Reclaim in.
    expect(await as("7001", "/app/recoveries")).toContain("<title>カゴ落ち回収 · Reclaim</title>");
    expect(await as("7002", "/app/recoveries")).toContain('<html lang="de"');
    // A staff member not seen yet gets the language last seen on the shop.
    expect(await as("7003", "/app/recoveries")).toContain('<html lang="de"');
  });
});
