import type { ActionFunctionArgs, LoaderFunctionArgs } from "@remix-run/node";
import { clientAddress, pixelPreflight, receivePixelEvent } from "../sources/pixel/receive.server";

/**
 * POST /pixel/events: the checkout pixel's collector (extensions/reclaim-checkout-pixel). Public; see
 * app/sources/pixel/receive.server.ts for every check and docs/decisions/050 for what an event may change.
 */
export const action = ({ request, context }: ActionFunctionArgs) =>
  receivePixelEvent(request, clientAddress(request, (context as { clientAddress?: string } | undefined)?.clientAddress));

/** Remix sends OPTIONS (CORS preflight) and GET to the loader. */
export const loader = ({ request }: LoaderFunctionArgs) => pixelPreflight(request);
