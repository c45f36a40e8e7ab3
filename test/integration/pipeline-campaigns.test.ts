import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { shopifyCheckout, startPipeline, stripeSession, type Pipeline } from "../helpers/pipeline";
import { header, startSmtpSink } from "../helpers/smtp";
import { jobTable } from "../helpers/jobs";

let p: Pipeline;
beforeAll(async () => {
  p = await startPipeline({ start: new Date("2027-07-01T10:00:00Z") });
});
afterAll(() => p?.close());

describe("campaigns", () => {
  it("installing the app creates the default 3-step campaign once (1 h, 24 h, 72 h; the last with an incentive)", async () => {
    const { enqueueJob } = await import("~/jobs/queue.server");
    const shop = await p.db.shop.create({ data: { domain: "fresh-install.myshopify.com" } });
    for (let i = 0; i < 2; i++) {
      await enqueueJob(p.db, "shop-installed", { shopId: shop.id }, { shopId: shop.id, runAt: p.clock.now() });
      await p.drain();
    }
    const campaigns = await p.db.campaign.findMany({ where: { shopId: shop.id }, include: { steps: { orderBy: { position: "asc" } } } });
    expect(campaigns).toHaveLength(1);
    expect(campaigns[0]).toMatchObject({ isDefault: true, enabled: true, sources: "both" });
    expect(campaigns[0]!.steps.map((s) => [s.delayMinutes, s.incentiveType, s.incentiveValue, s.incentiveExpiresDays])).toEqual([
      [60, null, null, null],
      [1440, null, null, null],
      [4320, "percentage", 10, 7],
    ]);
    // …and the sweep is running.
    expect(await jobTable(p.db).count({ where: { key: "send-due-messages" } })).toBe(1);
  });

  it("saving a broken template reports line and column, and writes nothing", async () => {
    const { saveCampaignStep } = await import("~/email/campaign-editor.server");
    const shop = await p.newShop();
    const step = await p.db.campaignStep.findFirstOrThrow({ where: { campaign: { shopId: shop.id }, position: 1 } });
    const result = await saveCampaignStep(p.db, shop.id, step.id, {
      delayMinutes: 90,
      subject: "Still there, {{ customer.first_name }}?",
      bodyTemplate: "<p>Hello</p>\n<ul>\n  {% for item in checkout.line_items %}\n  <li>{{ item.title }}</li>\n</ul>",
    });
    expect(result.ok).toBe(false);
    expect(!result.ok && result.problems).toEqual([
      {
        field: "body",
        language: "en",
        line: 3,
        column: 3,
        message: expect.stringMatching(/tag \{% for item in checkout.line_items %\} not closed \(line 3, column 3\)/),
      },
    ]);
    expect(await p.db.campaignStep.findUniqueOrThrow({ where: { id: step.id } })).toMatchObject({ delayMinutes: step.delayMinutes, subject: step.subject });

    const typo = await saveCampaignStep(p.db, shop.id, step.id, { delayMinutes: 90, subject: "Hi {{ customer.frist_name }}", bodyTemplate: "<p>ok</p>" });
    expect(!typo.ok && typo.problems[0]).toMatchObject({ field: "subject", line: 1, column: 7 });

    const saved = await saveCampaignStep(p.db, shop.id, step.id, { delayMinutes: 90, subject: "Still there?", bodyTemplate: "<p>{{ checkout.total }}</p>" });
    expect(saved.ok).toBe(true);
    expect(await p.db.campaignStep.findUniqueOrThrow({ where: { id: step.id } })).toMatchObject({ delayMinutes: 90, subject: "Still there?" });
  });

  it("another shop's step can't be saved through this shop", async () => {
    const { saveCampaignStep } = await import("~/email/campaign-editor.server");
    const mine = await p.newShop();
    const theirs = await p.newShop();
    const step = await p.db.campaignStep.findFirstOrThrow({ where: { campaign: { shopId: theirs.id } } });
    expect(await saveCampaignStep(p.db, mine.id, step.id, { delayMinutes: 90, subject: "x", bodyTemplate: "<p>x</p>" })).toMatchObject({
      ok: false,
      fieldErrors: { step: "not found" },
    });
  });

  it("previews a step with sample data, or against a real recovery of either source", async () => {
    const { previewStep } = await import("~/email/campaign-editor.server");
    const { DEFAULT_STEPS } = await import("~/recovery/campaign-defaults");
    const shop = await p.newShop({ name: "Preview Co" });
    const sample = await previewStep(p.db, shop.id, DEFAULT_STEPS[2]!);
    expect(sample.ok && sample.email.subject).toBe("10% off your cart at Preview Co");
    const { recoveryId } = (await p.ingest(shop, stripeSession(p.clock.now(), { firstName: "Ines" }))) as { recoveryId: string };
    const real = await previewStep(p.db, shop.id, DEFAULT_STEPS[2]!, { recoveryId });
    expect(real.ok && real.email.subject).toBe("Last reminder: your cart at Preview Co"); // Stripe: no code
    expect(real.ok && real.email.html).toContain("1.234,50\u00a0€");
    const shopifyRecovery = (await p.ingest(shop, shopifyCheckout(p.clock.now()))) as { recoveryId: string };
    const withCode = await previewStep(p.db, shop.id, DEFAULT_STEPS[2]!, { recoveryId: shopifyRecovery.recoveryId });
    expect(withCode.ok && withCode.email.html).toContain("BACK-PREVIEW");
  });
});

describe("email settings", () => {
  it("stores the SMTP password encrypted, never returns it, and sends a test email with the real headers", async () => {
    const { loadEmailSettings, saveEmailSettings, sendTestEmail } = await import("~/email/settings.server");
    const sink = await startSmtpSink({ auth: { user: "mailer", pass: "app-password-123" } });
    const shop = await p.newShop({ name: "Settings Shop" });
    const bad = await saveEmailSettings(p.db, shop.id, {
      emailTransport: "smtp",
      smtpHost: "127.0.0.1",
      smtpPort: sink.port,
      smtpSecure: false,
      postalAddress: "",
    });
    expect(bad).toEqual({ ok: false, fieldErrors: { senderEmail: "Sender email is required", postalAddress: expect.stringMatching(/required/) } });

    expect(
      await saveEmailSettings(p.db, shop.id, {
        emailTransport: "smtp",
        smtpHost: "127.0.0.1",
        smtpPort: String(sink.port),
        smtpSecure: "false",
        smtpUser: "mailer",
        smtpPassword: "app-password-123",
        senderName: "Settings Shop",
        senderEmail: "hi@settings.test",
        postalAddress: "5 Harbour Road, Cork, Ireland",
      }),
    ).toEqual({ ok: true, warnings: {} });
    const stored = await p.db.shop.findUniqueOrThrow({ where: { id: shop.id } });
    expect(stored.smtpPasswordEncrypted).toMatch(/^v2\./);
    expect(stored.smtpPasswordEncrypted).not.toContain("app-password-123");
    const shown = await loadEmailSettings(p.db, shop.id);
    expect(shown).toMatchObject({ hasSmtpPassword: true, setupProblem: null });
    expect(JSON.stringify(shown)).not.toContain("app-password");

    // Saving again without a password keeps the stored one.
    await saveEmailSettings(p.db, shop.id, {
      emailTransport: "smtp",
      smtpHost: "127.0.0.1",
      smtpPort: sink.port,
      smtpUser: "mailer",
      smtpPassword: "",
      senderEmail: "hi@settings.test",
      postalAddress: "5 Harbour Road, Cork, Ireland",
    });
    expect((await p.db.shop.findUniqueOrThrow({ where: { id: shop.id } })).smtpPasswordEncrypted).toBe(stored.smtpPasswordEncrypted);

    expect(await sendTestEmail(p.db, shop.id, "me@settings.test")).toMatchObject({ ok: true });
    const [mail] = await sink.waitFor(1);
    expect(mail!.user).toBe("mailer");
    expect(mail!.parsed.subject).toMatch(/^\[Test\] /);
    expect(header(mail!, "List-Unsubscribe-Post")).toBe("List-Unsubscribe=One-Click");
    expect(String(mail!.parsed.html)).toContain("5 Harbour Road, Cork, Ireland");
    expect(await sendTestEmail(p.db, shop.id, "not-an-address")).toEqual({
      ok: false,
      error: '"not-an-address" is not an email address: enter one like you@yourshop.com',
    });
    const { closeTransports } = await import("~/email/transport.server");
    closeTransports();
    await sink.close();
  });
});
