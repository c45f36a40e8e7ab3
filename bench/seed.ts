/**
 * Fast bulk seeding of a migrated PostgreSQL database for the benchmarks (seeding is never what is measured).
 *
 * Rows are generated inside PostgreSQL (INSERT … SELECT FROM generate_series), in one transaction that, for the tables
 * it loads, disables the user triggers, drops the foreign keys and secondary indexes, loads, recreates the indexes and
 * foreign keys exactly as they were (pg_get_indexdef / pg_get_constraintdef), recomputes "DailyStat" with one
 * INSERT … SELECT … GROUP BY that adds up what the triggers of prisma/migrations/20261206000100_daily_stats_triggers
 * would have (`--check-daily-stats` in bench/dashboard.ts compares the two), and enables the triggers again; then
 * ANALYZE. Other sessions never see the tables without their triggers or indexes (ALTER TABLE locks them until COMMIT).
 * Times are UTC timestamps without a zone, like the app's ("abandonedAt" etc.), computed from epoch milliseconds.
 */
import pg from "pg";

/** SQL for the UTC timestamp of an expression in epoch milliseconds. */
export const tsFromMs = (ms: string) => `(timestamp '1970-01-01 00:00:00' + (${ms}) * interval '1 millisecond')`;

const quote = (table: string) => pg.escapeIdentifier(table);

export async function connect(url: string): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: url, options: "-c TimeZone=UTC" });
  await client.connect();
  return client;
}

/**
 * Runs `load` in one transaction with the tables' user triggers disabled and their secondary indexes and foreign keys
 * dropped, then puts them back (inside the same transaction).
 */
export async function bulkLoad(client: pg.Client, tables: string[], load: () => Promise<void>): Promise<void> {
  const regclasses = tables.map(quote);
  await client.query("BEGIN");
  try {
    await client.query("SET LOCAL maintenance_work_mem = '256MB'");
    for (const table of tables) await client.query(`ALTER TABLE ${quote(table)} DISABLE TRIGGER USER`);
    const { rows: foreignKeys } = await client.query<{ tbl: string; name: string; def: string }>(
      `SELECT conrelid::regclass::text AS tbl, conname AS name, pg_get_constraintdef(oid) AS def
       FROM pg_constraint WHERE contype = 'f' AND conrelid = ANY($1::regclass[])`,
      [regclasses],
    );
    for (const fk of foreignKeys) await client.query(`ALTER TABLE ${fk.tbl} DROP CONSTRAINT ${quote(fk.name)}`);
    // Indexes that back no constraint (primary keys and constraint-backed unique indexes stay).
    const { rows: indexes } = await client.query<{ name: string; def: string }>(
      `SELECT i.indexrelid::regclass::text AS name, pg_get_indexdef(i.indexrelid) AS def
       FROM pg_index i WHERE i.indrelid = ANY($1::regclass[])
         AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)`,
      [regclasses],
    );
    for (const index of indexes) await client.query(`DROP INDEX ${index.name}`);
    await load();
    for (const index of indexes) await client.query(index.def);
    for (const fk of foreignKeys) await client.query(`ALTER TABLE ${fk.tbl} ADD CONSTRAINT ${quote(fk.name)} ${fk.def}`);
    for (const table of tables) await client.query(`ALTER TABLE ${quote(table)} ENABLE TRIGGER USER`);
    await client.query("COMMIT");
  } catch (error) {
    await client.query("ROLLBACK").catch(() => {});
    throw error;
  }
  await client.query(`ANALYZE ${tables.map(quote).join(", ")}, "DailyStat"`);
}

/**
 * Rebuilds the shop's "DailyStat" rows from its recoveries, sent messages, clicks and message-attributed conversions,
 * adding up exactly what the row triggers add one row at a time (same days, keys and conditions).
 */
export async function recomputeDailyStats(client: pg.Client, shopId: string): Promise<void> {
  await client.query(`DELETE FROM "DailyStat" WHERE "shopId" = $1`, [shopId]);
  await client.query(
    `INSERT INTO "DailyStat" ("shopId", "day", "currency", "source", "abandoned", "abandonedValueMinor", "noEmail", "noRecoveryLink",
       "optIn", "optOut", "consentUnknown", "recovered", "emailsSent", "clicks", "linkConversions", "linkRevenueMinor", "windowConversions", "windowRevenueMinor")
     SELECT "shopId", "day", "currency", "source", sum(a)::int, sum(av)::bigint, sum(ne)::int, sum(nl)::int, sum(oi)::int, sum(oo)::int, sum(cu)::int,
       sum(rc)::int, sum(es)::int, sum(cl)::int, sum(lc)::int, sum(lr)::bigint, sum(wc)::int, sum(wr)::bigint
     FROM (
       SELECT r."shopId", to_char(r."abandonedAt", 'YYYY-MM-DD') AS "day", r."currency", r."source", 1 AS a, r."totalMinor" AS av,
         (r."notContactableReason" IS NOT DISTINCT FROM 'no_email')::int AS ne,
         (r."notContactableReason" IS NOT DISTINCT FROM 'no_recovery_link')::int AS nl,
         (r."notContactableReason" IS NULL AND r."consent" = 'opt_in')::int AS oi,
         (r."notContactableReason" IS NULL AND r."consent" = 'opt_out')::int AS oo,
         (r."notContactableReason" IS NULL AND r."consent" NOT IN ('opt_in', 'opt_out'))::int AS cu,
         (r."status" = 'recovered')::int AS rc, 0 AS es, 0 AS cl, 0 AS lc, 0 AS lr, 0 AS wc, 0 AS wr
       FROM "Recovery" r WHERE r."shopId" = $1 AND NOT r."pixelOnly"
       UNION ALL
       SELECT r."shopId", to_char(m."sentAt", 'YYYY-MM-DD'), r."currency", r."source", 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0
       FROM "Message" m JOIN "Recovery" r ON r."id" = m."recoveryId"
       WHERE r."shopId" = $1 AND m."status" = 'sent' AND m."sentAt" IS NOT NULL
       UNION ALL
       SELECT r."shopId", to_char(k."clickedAt", 'YYYY-MM-DD'), r."currency", r."source", 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0
       FROM "Click" k JOIN "Recovery" r ON r."id" = k."recoveryId" WHERE r."shopId" = $1
       UNION ALL
       SELECT c."shopId", to_char(c."convertedAt", 'YYYY-MM-DD'), c."currency", r."source", 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
         (c."method" = 'link')::int, CASE WHEN c."method" = 'link' THEN c."amountMinor" ELSE 0 END,
         (c."method" = 'window')::int, CASE WHEN c."method" = 'window' THEN c."amountMinor" ELSE 0 END
       FROM "Conversion" c JOIN "Recovery" r ON r."id" = c."recoveryId" WHERE c."shopId" = $1 AND c."messageId" IS NOT NULL
     ) contributions
     GROUP BY "shopId", "day", "currency", "source"`,
    [shopId],
  );
}

export interface DashboardSeedOptions {
  url: string;
  shopDomain: string;
  recoveries: number;
  now: number;
  days: number;
  /**
   * "recompute" (default): triggers off during the load, "DailyStat" rebuilt with one GROUP BY. "triggers": the rows
   * are inserted with the triggers on, as the app writes them (slower; for checking that the two agree).
   */
  dailyStats?: "recompute" | "triggers";
}

/**
 * The dashboard benchmark's shop (bench/dashboard.ts), the same data the earlier SQLite seeder made: N recoveries over `days`
 * (a quarter Stripe), 90% with an email (about two recoveries per contact), a sent email for a third of those, a
 * click for a ninth, a window conversion for a 27th, and a link conversion for every 20th recovery.
 */
export async function seedDashboardData(o: DashboardSeedOptions): Promise<{ shopId: string; counts: Record<string, number> }> {
  const client = await connect(o.url);
  try {
    const t = tsFromMs("$2::bigint");
    const { rows } = await client.query<{ id: string }>(
      `INSERT INTO "Shop" ("id", "domain", "currency", "locale", "timezone", "installedAt", "createdAt", "updatedAt")
       VALUES (gen_random_uuid()::text, $1, 'USD', 'en', 'UTC', ${t}, ${t}, ${t}) RETURNING "id"`,
      [o.shopDomain, o.now],
    );
    const shopId = rows[0]!.id;
    await client.query(`INSERT INTO "Campaign" ("id", "shopId", "name", "createdAt", "updatedAt") VALUES ($1 || '-camp', $1, 'Default', ${t}, ${t})`, [
      shopId,
      o.now,
    ]);
    await client.query(
      `INSERT INTO "CampaignStep" ("id", "campaignId", "position", "delayMinutes", "subject", "bodyTemplate", "createdAt", "updatedAt")
       VALUES ($1 || '-step', $1 || '-camp', 1, 60, 's', 'b', ${t}, ${t})`,
      [shopId, o.now],
    );
    const tables = ["Contact", "Recovery", "Message", "Click", "Conversion"];
    const load = async () => {
      // One row per recovery with what the others derive from it. `ck`: the recovery whose index names its contact
      // (even ones with an email start a contact, the odd one after shares it; the seeder's old loop, in closed form).
      await client.query(
        `CREATE TEMP TABLE seed ON COMMIT DROP AS
         SELECT i, CASE WHEN i % 4 = 0 THEN 'stripe' ELSE 'shopify' END AS src, i % 10 <> 0 AS has_email,
           CASE WHEN i % 2 = 0 OR i = 1 THEN i WHEN (i - 1) % 10 <> 0 THEN i - 1 ELSE i - 3 END AS ck,
           ${tsFromMs("$1::bigint - floor(i::float8 / $2 * $3)::bigint - (i % 997) * 1000")} AS at
         FROM generate_series(0, $2::int - 1) AS i`,
        [o.now, o.recoveries, o.days * 86_400_000],
      );
      await client.query(
        `INSERT INTO "Contact" ("id", "shopId", "email", "createdAt", "updatedAt")
         SELECT $1 || '-c' || i, $1, 'buyer' || i || '@example.com', at, at FROM seed WHERE has_email AND ck = i`,
        [shopId],
      );
      await client.query(
        `INSERT INTO "Recovery" ("id", "shopId", "source", "externalId", "contactId", "email", "consent", "totalMinor", "currency", "recoveryUrl",
           "abandonedAt", "sourceUpdatedAt", "status", "notContactableReason", "createdAt", "updatedAt")
         SELECT $1 || '-r' || i, $1, src, src || '-' || i, CASE WHEN has_email THEN $1 || '-c' || ck END,
           CASE WHEN has_email THEN 'buyer' || ck || '@example.com' END, CASE WHEN i % 3 = 0 THEN 'unknown' ELSE 'opt_in' END,
           1000 + (i % 500) * 100, CASE WHEN i % 50 = 0 THEN 'EUR' ELSE 'USD' END, 'https://example.com/r', at, at,
           CASE WHEN i % 20 = 0 THEN 'recovered' ELSE 'contacting' END, CASE WHEN has_email THEN NULL ELSE 'no_email' END, at, at
         FROM seed`,
        [shopId],
      );
      const hour = "interval '1 hour'";
      await client.query(
        `INSERT INTO "Message" ("id", "shopId", "recoveryId", "campaignId", "stepId", "position", "status", "scheduledFor", "sentAt", "createdAt", "updatedAt")
         SELECT $1 || '-m' || i, $1, $1 || '-r' || i, $1 || '-camp', $1 || '-step', 1, 'sent', at + ${hour}, at + ${hour}, at, at
         FROM seed WHERE has_email AND i % 3 = 1`,
        [shopId],
      );
      await client.query(
        `INSERT INTO "Click" ("id", "shopId", "messageId", "recoveryId", "clickedAt")
         SELECT $1 || '-k' || i, $1, $1 || '-m' || i, $1 || '-r' || i, at + interval '4000 seconds' FROM seed WHERE has_email AND i % 9 = 1`,
        [shopId],
      );
      await client.query(
        `INSERT INTO "Conversion" ("id", "shopId", "recoveryId", "messageId", "method", "matchedBy", "source", "externalId", "amountMinor", "currency", "convertedAt", "createdAt")
         SELECT $1 || '-w' || i, $1, $1 || '-r' || i, $1 || '-m' || i, 'window', 'order', src, 'o-' || i, 2500, 'USD', at + interval '5000 seconds', at
         FROM seed WHERE has_email AND i % 27 = 1
         UNION ALL
         SELECT $1 || '-v' || i, $1, $1 || '-r' || i, NULL, 'link', CASE WHEN src = 'shopify' THEN 'completedAt' ELSE 'recovered_from' END, src, 'c-' || i,
           1000, 'USD', at + interval '7200 seconds', at
         FROM seed WHERE i % 20 = 0`,
        [shopId],
      );
      if (o.dailyStats !== "triggers") await recomputeDailyStats(client, shopId);
    };
    if (o.dailyStats === "triggers") {
      await client.query("BEGIN");
      await load();
      await client.query("COMMIT");
      await client.query(`ANALYZE ${tables.map(quote).join(", ")}, "DailyStat"`);
    } else {
      await bulkLoad(client, tables, load);
    }
    const { rows: count } = await client.query<Record<string, string>>(
      `SELECT (SELECT count(*) FROM "Recovery" WHERE "shopId" = $1) AS recoveries, (SELECT count(*) FROM "Contact" WHERE "shopId" = $1) AS contacts,
         (SELECT count(*) FROM "Message" WHERE "shopId" = $1) AS messages, (SELECT count(*) FROM "Click" WHERE "shopId" = $1) AS clicks,
         (SELECT count(*) FROM "Conversion" WHERE "shopId" = $1) AS conversions, (SELECT count(*) FROM "DailyStat" WHERE "shopId" = $1) AS "dailyStats"`,
      [shopId],
    );
    return { shopId, counts: Object.fromEntries(Object.entries(count[0]!).map(([k, v]) => [k, Number(v)])) };
  } finally {
    await client.end();
  }
}

/** The shop's "DailyStat" rows as text lines, sorted (to compare two ways of computing them). */
export async function dailyStatLines(url: string, shopId: string): Promise<string[]> {
  const client = await connect(url);
  try {
    const { rows } = await client.query(`SELECT * FROM "DailyStat" WHERE "shopId" = $1 ORDER BY "day", "currency", "source"`, [shopId]);
    return rows.map((row: Record<string, unknown>) => JSON.stringify({ ...row, shopId: undefined }));
  } finally {
    await client.end();
  }
}
