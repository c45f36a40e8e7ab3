import { randomUUID } from "node:crypto";
import { sqlTime } from "../app/models/sql-time";
import Database from "better-sqlite3";

/**
 * Fast bulk seeding for benchmarks: prepared statements in one transaction straight into a database migrated by
 * `prisma migrate deploy`. Timestamps use the adapter's stored format (ISO 8601 with +00:00). Seeding is not measured.
 */
export const iso = (ms: number) => sqlTime(new Date(ms));

export interface SeedOptions {
  file: string;
  shopDomain: string;
  recoveries: number;
  now: number;
  days: number;
}

export function seedDashboardData(o: SeedOptions) {
  const db = new Database(o.file);
  db.pragma("journal_mode = WAL");
  db.pragma("synchronous = OFF");
  const shopId = randomUUID();
  const campaignId = randomUUID();
  const stepId = randomUUID();
  const t = iso(o.now);
  db.prepare(`INSERT INTO Shop (id, domain, currency, locale, timezone, installedAt, createdAt, updatedAt) VALUES (?, ?, 'USD', 'en', 'UTC', ?, ?, ?)`).run(shopId, o.shopDomain, t, t, t);
  db.prepare(`INSERT INTO Campaign (id, shopId, name, createdAt, updatedAt) VALUES (?, ?, 'Default', ?, ?)`).run(campaignId, shopId, t, t);
  db.prepare(`INSERT INTO CampaignStep (id, campaignId, position, delayMinutes, subject, bodyTemplate, createdAt, updatedAt) VALUES (?, ?, 1, 60, 's', 'b', ?, ?)`).run(stepId, campaignId, t, t);
  const contact = db.prepare(`INSERT INTO Contact (id, shopId, email, createdAt, updatedAt) VALUES (?, ?, ?, ?, ?)`);
  const recovery = db.prepare(`INSERT INTO Recovery (id, shopId, source, externalId, contactId, email, consent, totalMinor, currency, recoveryUrl, abandonedAt, sourceUpdatedAt, status, notContactableReason, createdAt, updatedAt)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'https://example.com/r', ?, ?, ?, ?, ?, ?)`);
  const message = db.prepare(`INSERT INTO Message (id, shopId, recoveryId, campaignId, stepId, position, status, scheduledFor, sentAt, createdAt, updatedAt) VALUES (?, ?, ?, ?, ?, 1, 'sent', ?, ?, ?, ?)`);
  const click = db.prepare(`INSERT INTO Click (id, shopId, messageId, recoveryId, clickedAt) VALUES (?, ?, ?, ?, ?)`);
  const conversion = db.prepare(`INSERT INTO Conversion (id, shopId, recoveryId, messageId, method, matchedBy, source, externalId, amountMinor, currency, convertedAt, createdAt) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'USD', ?, ?)`);
  const span = o.days * 86_400_000;
  const insert = db.transaction(() => {
    let contactId = "";
    let contactEmail = "";
    for (let i = 0; i < o.recoveries; i++) {
      const source = i % 4 === 0 ? "stripe" : "shopify";
      const at = o.now - Math.floor((i / o.recoveries) * span) - (i % 997) * 1000;
      const hasEmail = i % 10 !== 0;
      // Roughly two recoveries per contact.
      if (hasEmail && (i % 2 === 0 || !contactId)) {
        contactId = randomUUID();
        contactEmail = `buyer${i}@example.com`;
        contact.run(contactId, shopId, contactEmail, iso(at), iso(at));
      }
      const id = randomUUID();
      const converted = i % 20 === 0;
      recovery.run(id, shopId, source, `${source}-${i}`, hasEmail ? contactId : null, hasEmail ? contactEmail : null,
        i % 3 === 0 ? "unknown" : "opt_in", 1000 + (i % 500) * 100, i % 50 === 0 ? "EUR" : "USD", iso(at), iso(at),
        converted ? "recovered" : "contacting", hasEmail ? null : "no_email", iso(at), iso(at));
      if (hasEmail && i % 3 === 1) {
        const mid = randomUUID();
        message.run(mid, shopId, id, campaignId, stepId, iso(at + 3_600_000), iso(at + 3_600_000), iso(at), iso(at));
        if (i % 9 === 1) click.run(randomUUID(), shopId, mid, id, iso(at + 4_000_000));
        if (i % 27 === 1) conversion.run(randomUUID(), shopId, id, mid, "window", "order", source, `o-${i}`, 2500, iso(at + 5_000_000), iso(at));
      }
      if (converted) conversion.run(randomUUID(), shopId, id, null, "link", source === "shopify" ? "completedAt" : "recovered_from", source, `c-${i}`, 1000, iso(at + 7_200_000), iso(at));
    }
  });
  insert();
  db.pragma("wal_checkpoint(TRUNCATE)");
  db.exec("ANALYZE");
  db.close();
  return { shopId };
}
