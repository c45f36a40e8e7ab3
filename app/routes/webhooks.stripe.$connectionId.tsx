import type { ActionFunctionArgs } from "@remix-run/node";
import { db } from "../db.server";
import { receiveStripeWebhook } from "../sources/stripe/receive-webhook.server";

/** Stripe Checkout webhooks for one merchant's connection: verify → store once → enqueue → 200 (or 400 with the reason). */
export const action = async ({ request, params }: ActionFunctionArgs) => {
  if (request.method !== "POST") return new Response("method not allowed", { status: 405, headers: { allow: "POST" } });
  const { status, body } = await receiveStripeWebhook(db, params.connectionId ?? "", request);
  return new Response(body, { status, headers: { "content-type": "text/plain; charset=utf-8" } });
};

export const loader = () => new Response("method not allowed", { status: 405, headers: { allow: "POST" } });
