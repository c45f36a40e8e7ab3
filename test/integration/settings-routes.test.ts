import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startAdminApp } from "../helpers/admin-app";
import { embeddedRequest, OTHER_SHOP, signSessionToken, TEST_SHOP } from "../helpers/shopify";

let admin: Awaited<ReturnType<typeof startAdminApp>>;
let db: typeof admin.db;
const post = (form: Record<string, string>, token = signSessionToken()) => admin.post("/app/settings", "routes/app.settings._index", form, token);

const validPolicy = {
  intent: "policy",
  consentPolicy: "explicit",
  frequencyCapHours: "24",
  quietHoursStart: "21:00",
  quietHoursEnd: "08:00",
  timezone: "Europe/Paris",
  attributionWindowDays: "7",
};

beforeAll(async () => {
  admin = await startAdminApp();
  db = admin.db;
  // A shop row exists from its first authenticated request: both shops have one before any test runs (any order).
  for (const shop of [TEST_SHOP, OTHER_SHOP]) await admin.data("/app/settings", "routes/app.settings._index", signSessionToken({ shop }));
});
afterAll(() => admin?.close());

describe("settings", () => {
  it("renders the page with the shop's current policy", async () => {
    const html = await (await admin.app.handle(embeddedRequest("/app/settings"))).text();
    expect(html).toContain("Recovery policy");
    expect(html).toContain("Explicit consent only (recommended)");
  });

  it("saves a valid recovery policy, quiet hours in minutes of the shop's day", async () => {
    const { status, body } = await post(validPolicy);
    expect(status).toBe(200);
    expect(body.message).toBe("Recovery policy saved.");
    expect(await db.shop.findUniqueOrThrow({ where: { domain: TEST_SHOP } })).toMatchObject({
      frequencyCapHours: 24,
      quietHoursStartMinute: 21 * 60,
      quietHoursEndMinute: 8 * 60,
      timezone: "Europe/Paris",
      attributionWindowDays: 7,
    });
  });

  it.each([
    [{ frequencyCapHours: "0" }, "frequencyCapHours", "must be at least 1 hour"],
    [{ frequencyCapHours: "soon" }, "frequencyCapHours", "must be a number of hours"],
    [{ timezone: "Mars/Olympus_Mons" }, "timezone", "must be an IANA time zone such as Europe/Paris"],
    [{ quietHoursEnd: "" }, "quietHoursEnd", "set both ends of the quiet hours, or neither"],
    [{ quietHoursStart: "25:00" }, "quietHoursStart", "must be a time like 21:00"],
    [{ consentPolicy: "anyone" }, "consentPolicy", "must be explicit or implied"],
    [{ attributionWindowDays: "90" }, "attributionWindowDays", "must be at most 30 days"],
  ])("refuses %j with a field error and saves nothing", async (override, field, message) => {
    const before = await db.shop.findUniqueOrThrow({ where: { domain: TEST_SHOP } });
    const { status, body } = await post({ ...validPolicy, frequencyCapHours: "48", ...override });
    expect(status).toBe(400);
    expect(body.fieldErrors[field]).toBe(message);
    expect(await db.shop.findUniqueOrThrow({ where: { domain: TEST_SHOP } })).toEqual(before);
  });

  it("refuses SMTP settings without a host, port, sender and postal address, saving nothing", async () => {
    const before = await db.shop.findUniqueOrThrow({ where: { domain: TEST_SHOP } });
    const { status, body } = await post({
      intent: "email",
      emailTransport: "smtp",
      senderName: "Shop",
      senderEmail: "",
      smtpHost: "",
      smtpPort: "",
      smtpSecure: "false",
      smtpUser: "",
      smtpPassword: "",
      postalAddress: "",
      replyTo: "",
    });
    expect(status).toBe(400);
    expect(Object.keys(body.fieldErrors).sort()).toEqual(["postalAddress", "senderEmail", "smtpHost", "smtpPort"]);
    expect(await db.shop.findUniqueOrThrow({ where: { domain: TEST_SHOP } })).toEqual(before);
  });

  it("stores the SMTP password encrypted and never renders it back", async () => {
    const password = "smtp-pa55word-do-not-show";
    const { status } = await post({
      intent: "email",
      emailTransport: "smtp",
      senderName: "Shop",
      senderEmail: "shop@example.com",
      smtpHost: "smtp.example.com",
      smtpPort: "587",
      smtpSecure: "false",
      smtpUser: "apikey",
      smtpPassword: password,
      postalAddress: "1 Main St, Springfield",
      replyTo: "",
    });
    expect(status).toBe(200);
    const shop = await db.shop.findUniqueOrThrow({ where: { domain: TEST_SHOP } });
    expect(shop.smtpPasswordEncrypted).toBeTruthy();
    expect(shop.smtpPasswordEncrypted).not.toContain(password);
    const html = await (await admin.app.handle(embeddedRequest("/app/settings"))).text();
    expect(html).not.toContain(password);
    expect(html).toContain("A password is stored (encrypted)");
  });

  it("another shop's token changes only that shop's settings", async () => {
    await post({ ...validPolicy, frequencyCapHours: "99" }, signSessionToken({ shop: OTHER_SHOP }));
    expect((await db.shop.findUniqueOrThrow({ where: { domain: OTHER_SHOP } })).frequencyCapHours).toBe(99);
    expect((await db.shop.findUniqueOrThrow({ where: { domain: TEST_SHOP } })).frequencyCapHours).not.toBe(99);
  });

  it("answers a German admin in German and a Japanese admin in Japanese: the page, field errors and test-send errors", async () => {
    const other = signSessionToken({ shop: OTHER_SHOP });
    try {
      const html = await (await admin.app.handle(embeddedRequest("/app/settings?locale=de-DE", other, OTHER_SHOP))).text();
      expect(html).toContain("Wiederherstellungsrichtlinie");
      expect(html).toContain("Nur ausdrückliche Einwilligung (empfohlen)");
      // Later posts carry no locale: the language the app was opened in is kept.
      const policy = await post({ ...validPolicy, frequencyCapHours: "0" }, other);
      expect(policy.body.fieldErrors.frequencyCapHours).toBe("Muss mindestens 1 Stunde sein");
      const email = await post(
        { intent: "email", emailTransport: "smtp", senderEmail: "", smtpHost: "", smtpPort: "", smtpSecure: "false", postalAddress: "" },
        other,
      );
      expect(email.body.fieldErrors).toMatchObject({ smtpHost: "Der SMTP-Host ist erforderlich", senderEmail: "Die Absender-E-Mail ist erforderlich" });

      await admin.app.handle(embeddedRequest("/app/settings?locale=ja", other, OTHER_SHOP));
      const test = await post({ intent: "test-email", to: "nope", emailTransport: "log" }, other);
      expect(test.status).toBe(400);
      expect(test.body.message).toBe("「nope」はメールアドレスではありません。you@yourshop.com のように入力してください");
    } finally {
      await db.staffLanguage.deleteMany({ where: { shop: { domain: OTHER_SHOP } } });
      await db.shop.update({ where: { domain: OTHER_SHOP }, data: { adminLocale: null } });
    }
  });
});
