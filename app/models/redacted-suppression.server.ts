import type { Prisma, PrismaClient } from "@prisma/client";
import { emailHash } from "./email-hash.server";

type Db = PrismaClient | Prisma.TransactionClient;

/** An unsubscribe or suppression that outlives the contact, kept as a hash of the address: customers/redact writes it (app/privacy/redact-customer.server.ts), ingest reads it below. */
export interface KeptSuppression {
  emailHash: string;
  unsubscribedAt: string | null;
  suppressedAt: string | null;
  suppressionReason: string | null;
}

export interface SuppressionAfterRedaction {
  unsubscribedAt: Date | null;
  suppressedAt: Date | null;
  suppressionReason: string | null;
}

/**
 * The unsubscribe or suppression of a contact that was since redacted, if `email` is that contact's address. Meant for
 * the moment a new Contact is created for an address (ingest), so a person who unsubscribed, bounced or complained is
 * not emailed again after their data was erased. Reads only this shop's completed redactions (a handful of rows).
 */
export async function suppressionAfterRedaction(db: Db, shopId: string, email: string): Promise<SuppressionAfterRedaction | null> {
  return (await suppressionsAfterRedaction(db, shopId, [email])).get(email) ?? null;
}

/** suppressionAfterRedaction for several addresses in one read (the batch ingest creates a page's contacts at once). */
export async function suppressionsAfterRedaction(db: Db, shopId: string, emails: string[]): Promise<Map<string, SuppressionAfterRedaction>> {
  const found = new Map<string, SuppressionAfterRedaction>();
  if (emails.length === 0) return found;
  const byHash = new Map(emails.map((email) => [emailHash(shopId, email), email]));
  const rows = await db.complianceRequest.findMany({
    where: { shopId, topic: "customers/redact", status: "done", OR: [...byHash.keys()].map((hash) => ({ summary: { contains: hash } })) },
    select: { summary: true },
    orderBy: { receivedAt: "desc" },
  });
  for (const row of rows) {
    let kept: KeptSuppression[] = [];
    try {
      kept = (JSON.parse(row.summary) as { keptSuppressions?: KeptSuppression[] }).keptSuppressions ?? [];
    } catch {
      continue;
    }
    // Newest redaction first: the first match of an address is the one that counts.
    for (const match of kept) {
      const email = byHash.get(match.emailHash);
      if (!email || found.has(email)) continue;
      found.set(email, {
        unsubscribedAt: match.unsubscribedAt ? new Date(match.unsubscribedAt) : null,
        suppressedAt: match.suppressedAt ? new Date(match.suppressedAt) : null,
        suppressionReason: match.suppressionReason,
      });
    }
  }
  return found;
}
