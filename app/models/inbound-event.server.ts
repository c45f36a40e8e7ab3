import { randomUUID } from "node:crypto";
import { Prisma, type PrismaClient } from "@prisma/client";
import { sqlTime } from "./sql-time";

export interface InboundEventInput {
  source: "shopify" | "stripe" | "pixel";
  /** Shop domain (Shopify) or Stripe connection id. */
  receiver: string;
  /** Delivery id: X-Shopify-Webhook-Id, Stripe event id. */
  externalId: string;
  topic: string;
  payload: string;
  shopId?: string | null;
}

interface Pending {
  input: InboundEventInput;
  jobName: string;
  resolve: (outcome: "new" | "duplicate") => void;
  reject: (error: unknown) => void;
}

/** Rows per group commit: well under SQLite's 32,766 bound parameters (7 per event, 7 per job). */
const MAX_GROUP = 500;

/**
 * Stores an inbound event once and enqueues its processing in the same transaction (invariant 1: stored durably before
 * it is acknowledged; a redelivery changes nothing). Resolves to whether this delivery was new.
 *
 * Group commit: deliveries arriving while a write is in progress are written together in the next transaction — two
 * statements for the whole group (`INSERT … ON CONFLICT DO NOTHING RETURNING` for events, one `INSERT` for their jobs).
 * Each caller still gets its answer only after its row is committed. A duplicate is a conflict the insert skips, not an
 * error and a rollback. (ADR 013: the per-event Prisma transaction was ~70% of a Stripe webhook's cost.)
 */
export function recordInboundEvent(db: PrismaClient, input: InboundEventInput, job: { name: string }): Promise<"new" | "duplicate"> {
  return new Promise((resolve, reject) => {
    const queue = queues.get(db) ?? { pending: [] as Pending[], writing: false };
    queues.set(db, queue);
    queue.pending.push({ input, jobName: job.name, resolve, reject });
    if (!queue.writing) void drain(db, queue);
  });
}

const queues = new WeakMap<PrismaClient, { pending: Pending[]; writing: boolean }>();

async function drain(db: PrismaClient, queue: { pending: Pending[]; writing: boolean }) {
  queue.writing = true;
  try {
    while (queue.pending.length > 0) {
      const group = queue.pending.splice(0, MAX_GROUP);
      try {
        const outcomes = await writeGroup(db, group);
        group.forEach((p, i) => p.resolve(outcomes[i]!));
      } catch (error) {
        group.forEach((p) => p.reject(error));
      }
    }
  } finally {
    queue.writing = false;
  }
}

const keyOf = (e: { source: string; receiver: string; externalId: string }) => `${e.source}\u0000${e.receiver}\u0000${e.externalId}`;

async function writeGroup(db: PrismaClient, group: Pending[]): Promise<("new" | "duplicate")[]> {
  const now = sqlTime(new Date());
  const rows = group.map((p) => ({ id: randomUUID(), ...p.input }));
  return db.$transaction(async (tx) => {
    const inserted = await tx.$queryRaw<{ id: string; source: string; receiver: string; externalId: string }[]>`
      INSERT INTO "InboundEvent" ("id", "source", "receiver", "externalId", "topic", "payload", "receivedAt")
      VALUES ${Prisma.join(rows.map((r) => Prisma.sql`(${r.id}, ${r.source}, ${r.receiver}, ${r.externalId}, ${r.topic}, ${r.payload}, ${now})`))}
      ON CONFLICT ("source", "receiver", "externalId") DO NOTHING
      RETURNING "id", "source", "receiver", "externalId"`;
    const insertedIds = new Set(inserted.map((r) => r.id));
    const fresh = rows.map((r, i) => ({ row: r, jobName: group[i]!.jobName })).filter((x) => insertedIds.has(x.row.id));
    if (fresh.length > 0) {
      await tx.$executeRaw`
        INSERT INTO "Job" ("id", "name", "payload", "shopId", "status", "runAt", "attempts", "maxAttempts", "createdAt", "updatedAt")
        VALUES ${Prisma.join(fresh.map((x) => Prisma.sql`(${randomUUID()}, ${x.jobName}, ${JSON.stringify({ inboundEventId: x.row.id })}, ${x.row.shopId ?? null}, 'queued', ${now}, 0, 8, ${now}, ${now})`))}`;
    }
    // The first caller with a given delivery id in this group, if its row went in, is the new one; everyone else is a duplicate.
    const claimed = new Set<string>();
    return rows.map((r) => {
      if (!insertedIds.has(r.id)) return "duplicate";
      const key = keyOf(r);
      if (claimed.has(key)) return "duplicate";
      claimed.add(key);
      return "new";
    });
  });
}

export function isUniqueViolation(error: unknown): boolean {
  return error instanceof Prisma.PrismaClientKnownRequestError && error.code === "P2002";
}
