/** Read models for Settings → Privacy. Every query is scoped to the signed-in shop (invariant 4). */
import type { PrismaClient } from "@prisma/client";
import type { TFunction } from "i18next";
import { translatorFor } from "../i18n/translator";
import { describeRequest, topicLabel } from "./describe";

export interface PrivacyRequestRow {
  id: string;
  topic: string;
  topicLabel: string;
  receivedAt: string;
  completedAt: string | null;
  status: "pending" | "done" | "unreadable";
  customerId: string | null;
  dataRequestId: string | null;
  orderIds: string[];
  outcome: string;
  downloadable: boolean;
}

/** How many compliance requests Shopify sent for the shop (Settings links to the list when there are any). */
export function countPrivacyRequests(db: PrismaClient, shopId: string): Promise<number> {
  return db.complianceRequest.count({ where: { shopId } });
}

/** The shop's requests, newest first, with their labels and outcomes in the language of `t` (the admin's; English by default). */
export async function listPrivacyRequests(db: PrismaClient, shopId: string, take = 200, t: TFunction = translatorFor("en")): Promise<PrivacyRequestRow[]> {
  // `export` is only tested for presence here: the documents themselves are fetched one at a time, on download.
  const rows = await db.complianceRequest.findMany({
    where: { shopId },
    orderBy: { receivedAt: "desc" },
    take,
    select: { id: true, topic: true, receivedAt: true, completedAt: true, status: true, customerId: true, dataRequestId: true, orderIds: true, summary: true },
  });
  const withExport = new Set(
    (await db.complianceRequest.findMany({ where: { shopId, id: { in: rows.map((r) => r.id) }, export: { not: null } }, select: { id: true } })).map(
      (r) => r.id,
    ),
  );
  return rows.map((r) => {
    let orderIds: string[] = [];
    try {
      orderIds = JSON.parse(r.orderIds) as string[];
    } catch {
      // shown as none
    }
    let unreadable = false;
    try {
      unreadable = typeof (JSON.parse(r.summary) as { error?: unknown }).error === "string";
    } catch {
      // a summary that is not JSON is not an error report
    }
    return {
      id: r.id,
      topic: r.topic,
      topicLabel: topicLabel(r.topic, t),
      receivedAt: r.receivedAt.toISOString(),
      completedAt: r.completedAt?.toISOString() ?? null,
      status: unreadable ? "unreadable" : r.status === "done" ? "done" : "pending",
      customerId: r.customerId,
      dataRequestId: r.dataRequestId,
      orderIds,
      outcome: describeRequest({ topic: r.topic, status: r.status, summary: r.summary, hasExport: withExport.has(r.id) }, t),
      downloadable: withExport.has(r.id),
    };
  });
}

/** A data request's export, only for the shop it belongs to; null otherwise (the route answers 404 either way). */
export async function loadExport(db: PrismaClient, shopId: string, id: string): Promise<{ json: string; fileName: string } | null> {
  const request = await db.complianceRequest.findFirst({
    where: { id, shopId, topic: "customers/data_request", export: { not: null } },
    select: { export: true, customerId: true, receivedAt: true },
  });
  if (!request?.export) return null;
  const who = request.customerId ? `customer-${request.customerId}` : `request-${id}`;
  return { json: request.export, fileName: `reclaim-${who}-${request.receivedAt.toISOString().slice(0, 10)}.json` };
}
