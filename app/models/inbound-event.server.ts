import { randomUUID } from "node:crypto";
import { Prisma, type PrismaClient } from "@prisma/client";
import { addJobsSql, DEFAULT_MAX_ATTEMPTS, type JobName } from "../jobs/queue.server";

export interface InboundEventInput {
  source: "shopify" | "stripe" | "pixel";
  /** Shop domain (Shopify) or Stripe connection id. */
  receiver: string;
  /** Delivery id: X-Shopify-Webhook-Id, Stripe event id. */
  externalId: string;
  topic: string;
  payload: string;
  shopId?: string | null;
  /** Stripe: the payload's `api_version` (null for thin events and for other sources). */
  apiVersion?: string | null;
}

interface Pending {
  input: InboundEventInput;
  jobName: JobName;
  resolve: (outcome: "new" | "duplicate") => void;
  reject: (error: unknown) => void;
}

/** Rows per statement: bounds how long one group's statement runs and how large its parameters grow (ADR 013). */
const MAX_GROUP = 200;

/**
 * Stores an inbound event once and enqueues its processing in the same transaction (invariant 1: stored durably before
 * it is acknowledged; a redelivery changes nothing). Resolves to whether this delivery was new.
 *
 * Group commit: deliveries that reach this point in the same turn of the event loop, or while a group is being written,
 * are written together in one transaction (`setImmediate` lets every request read in this turn join the group). Each
 * caller gets its answer only after its rows are committed. A duplicate is a conflict the insert skips, not an error
 * and a rollback. The group is one SQL statement (events and jobs together, so atomic without a transaction round
 * trip): a Prisma transaction per event was most of a Stripe webhook's cost (ADR 013).
 */
export function recordInboundEvent(db: PrismaClient, input: InboundEventInput, job: { name: JobName }): Promise<"new" | "duplicate"> {
  return new Promise((resolve, reject) => {
    const queue = queues.get(db) ?? { pending: [] as Pending[], writing: false };
    queues.set(db, queue);
    queue.pending.push({ input, jobName: job.name, resolve, reject });
    if (!queue.writing) {
      queue.writing = true;
      setImmediate(() => void drain(db, queue));
    }
  });
}

const queues = new WeakMap<PrismaClient, { pending: Pending[]; writing: boolean }>();

async function drain(db: PrismaClient, queue: { pending: Pending[]; writing: boolean }) {
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

/**
 * One statement for the group: the events go in with ON CONFLICT DO NOTHING (a redelivery, already stored or earlier in
 * this group, is skipped: no error, no rollback), and a processing job goes in for each event that was new (one call of
 * graphile-worker's add_jobs for the group, in the shop's intake lane).
 */
const WRITE_GROUP_SQL = `
WITH input AS (
  SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[])
    AS t("id", "source", "receiver", "externalId", "topic", "payload", "shopId", "jobName", "apiVersion")
), inserted AS (
  INSERT INTO "InboundEvent" ("id", "source", "receiver", "externalId", "topic", "payload", "apiVersion", "receivedAt")
  SELECT "id", "source", "receiver", "externalId", "topic", "payload", "apiVersion", now() FROM input
  ON CONFLICT ("source", "receiver", "externalId") DO NOTHING
  RETURNING "id"
), jobs AS (
  ${addJobsSql(`SELECT i."jobName" AS name, json_build_object('inboundEventId', i."id") AS payload, i."shopId" AS shop_id, now()::timestamp(3) AT TIME ZONE 'UTC' AS run_at, ${DEFAULT_MAX_ATTEMPTS} AS max_attempts, NULL::text AS job_key
    FROM input i JOIN inserted USING ("id")`)}
)
SELECT "id" FROM inserted, jobs`;

async function writeGroup(db: PrismaClient, group: Pending[]): Promise<("new" | "duplicate")[]> {
  const ids = group.map(() => randomUUID());
  const column = <T>(pick: (p: Pending) => T) => group.map(pick);
  const rows = (await db.$queryRawUnsafe(
    WRITE_GROUP_SQL,
    ids,
    column((p) => p.input.source),
    column((p) => p.input.receiver),
    column((p) => p.input.externalId),
    column((p) => p.input.topic),
    column((p) => p.input.payload),
    column((p) => p.input.shopId ?? null),
    column((p) => p.jobName),
    column((p) => p.input.apiVersion ?? null),
  )) as { id: string }[];
  const stored = new Set(rows.map((r) => r.id));
  return ids.map((id) => (stored.has(id) ? "new" : "duplicate"));
}

export function isUniqueViolation(error: unknown): boolean {
  return error instanceof Prisma.PrismaClientKnownRequestError && error.code === "P2002";
}
