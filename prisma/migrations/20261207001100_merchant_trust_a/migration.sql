-- Issue 21 (part A): one definition of "recovered", and a brand kit (docs/decisions/082-one-definition-of-recovered.md).
-- Hand-written: the columns are what `prisma migrate diff` derives from schema.prisma (test/integration/migrations.test.ts
-- checks that they agree); the data changes are not part of schema.prisma.

-- AlterTable: the brand kit (Settings › Brand).
ALTER TABLE "Shop" ADD COLUMN     "brandAccentColor" TEXT,
ADD COLUMN     "brandLogoUrl" TEXT;

-- A checkout bought without any Reclaim email before it is "Bought without an email" (`purchased`), not `recovered`:
-- ingest now sets it so, and the recoveries marked `recovered` by earlier versions without a counted conversion (a
-- link conversion with an email before it, not reversed) move over. The Recovery trigger (20261206000400) takes them
-- out of DailyStat."recovered" in the same statement.
UPDATE "Recovery" r SET "status" = 'purchased', "updatedAt" = now()
WHERE r."status" = 'recovered'
  AND NOT EXISTS (
    SELECT 1 FROM "Conversion" c
    WHERE c."recoveryId" = r."id" AND c."method" = 'link' AND c."messageId" IS NOT NULL AND c."reversedAt" IS NULL);

-- The default templates stored by earlier versions: buttons take the brand's accent colour, and an item without an
-- image no longer gets an empty grey box. Only these exact default fragments are touched; edited templates keep theirs.
UPDATE "CampaignStep" SET
  "bodyTemplate" = replace(replace("bodyTemplate",
    '<td style="border-radius:8px;background:#111827;">',
    '<td style="border-radius:8px;background:{{ shop.accent_color }};">'),
    '{% else %}<div style="width:64px;height:64px;border-radius:8px;background:#f1f2f4;"></div>{% endif -%}',
    '{% endif -%}'),
  "updatedAt" = now()
WHERE "bodyTemplate" LIKE '%<td style="border-radius:8px;background:#111827;">%'
   OR "bodyTemplate" LIKE '%background:#f1f2f4;"></div>%';
