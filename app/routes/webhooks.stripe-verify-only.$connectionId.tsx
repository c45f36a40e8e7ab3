import type { ActionFunctionArgs } from "@remix-run/node";
import { db } from "../db.server";
import { env } from "../env.server";
import { readVerifiedEvent } from "../sources/stripe/receive-webhook.server";

/**
 * Benchmark baseline (bench/stripe-webhooks.ts): the same lookup and signature check as /webhooks/stripe/<id>, then
 * 200 without storing anything. Answers 404 unless STRIPE_VERIFY_ONLY_ENDPOINT=on, which env.server.ts refuses in
 * production unless the server listens on loopback only.
 */
export const action = async ({ request, params }: ActionFunctionArgs) => {
  if (env.STRIPE_VERIFY_ONLY_ENDPOINT !== "on") return new Response("not found", { status: 404 });
  const verified = await readVerifiedEvent(db, params.connectionId ?? "", request);
  if (!verified.ok) return new Response(verified.answer.body, { status: verified.answer.status });
  return new Response("verified", { status: 200, headers: { "content-type": "text/plain; charset=utf-8" } });
};

export const loader = () => new Response("not found", { status: 404 });
