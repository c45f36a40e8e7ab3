// A loopback fake of the few Stripe API endpoints Reclaim calls, reached through the SDK's own host/port/protocol
// options (STRIPE_API_BASE). Response and error shapes follow Stripe's: list envelopes, `item` objects from the
// fixtures, and `{ error: { message, type, code?, param?, doc_url? } }` with the status codes the SDK maps to its
// error classes (401 → StripeAuthenticationError, 403 → StripePermissionError, 404 → StripeInvalidRequestError).
import { randomBytes } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { openSession, product as fixtureProduct } from "./objects";

type Json = Record<string, any>;

export interface FakeKey {
  /** Restricted key permission "Checkout Sessions: Read". */
  checkoutSessionRead: boolean;
  /** "Products: Read" (needed to expand `data.price.product`); default granted. */
  productRead?: boolean;
  /** "Payment Links: Read"; default granted. */
  paymentLinkRead?: boolean;
}

export interface RecordedRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  apiKey: string | null;
}

/** Stripe masks keys in its messages: prefix, stars, last four. */
export function maskKey(key: string): string {
  const prefix = /^(rk|sk|pk)_(live|test)_/.exec(key)?.[0] ?? "";
  return `${prefix}${"*".repeat(Math.max(0, key.length - prefix.length - 4))}${key.slice(-4)}`;
}

export class FakeStripeApi {
  readonly requests: RecordedRequest[] = [];
  private readonly keys = new Map<string, FakeKey>();
  private readonly sessions = new Map<string, { livemode: boolean; items: Json[] }>();
  private readonly products = new Map<string, Json>();
  private readonly paymentLinks = new Map<string, Json>();
  private failures: number[] = [];
  private server: Server | null = null;
  url = "";

  /** Registers a key the fake accepts (any other key gets Stripe's 401). */
  addKey(key: string, grants: FakeKey = { checkoutSessionRead: true }): this {
    this.keys.set(key, grants);
    return this;
  }

  /** Makes a session known, with its line items (served paginated like Stripe's). */
  setLineItems(sessionId: string, items: Json[]): this {
    this.sessions.set(sessionId, { livemode: sessionId.startsWith("cs_live_"), items });
    return this;
  }

  /** Products the line items' `price.product` ids name (served when a request expands `data.price.product`). */
  addProducts(...products: Json[]): this {
    for (const p of products) this.products.set(p.id, p);
    return this;
  }

  /** Payment Links served by GET /v1/payment_links/:id (mode from `livemode`). */
  addPaymentLinks(...links: Json[]): this {
    for (const l of links) this.paymentLinks.set(l.id, l);
    return this;
  }

  /** The next requests fail with these statuses (e.g. 500, 503) before being served normally. */
  failNext(...statuses: number[]): this {
    this.failures.push(...statuses);
    return this;
  }

  async start(): Promise<string> {
    this.server = createServer((req, res) => this.handle(req, res));
    await new Promise<void>((resolve) => this.server!.listen(0, "127.0.0.1", resolve));
    const { port } = this.server.address() as AddressInfo;
    this.url = `http://127.0.0.1:${port}`;
    return this.url;
  }

  async close(): Promise<void> {
    if (!this.server) return;
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server!.close(() => resolve()));
    this.server = null;
  }

  private handle(req: IncomingMessage, res: ServerResponse) {
    const url = new URL(req.url ?? "/", "http://127.0.0.1");
    const auth = req.headers.authorization ?? "";
    const apiKey = auth.startsWith("Bearer ") ? auth.slice(7) : null;
    this.requests.push({ method: req.method ?? "GET", path: url.pathname, query: Object.fromEntries(url.searchParams), apiKey });
    req.resume();

    const send = (status: number, body: Json) => {
      res.writeHead(status, {
        "content-type": "application/json",
        "request-id": `req_${randomBytes(7).toString("hex")}`,
        "stripe-version": "2026-10-28.endive",
      });
      res.end(JSON.stringify(body));
    };
    const error = (status: number, fields: Json) => send(status, { error: { type: "invalid_request_error", ...fields } });

    const failure = this.failures.shift();
    if (failure) return error(failure, { type: "api_error", message: "An unknown error occurred" });

    if (!apiKey) {
      return error(401, {
        message:
          "You did not provide an API key. You need to provide your API key in the Authorization header, using Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY'). See https://stripe.com/docs/api#authentication for details, or we can help at https://support.stripe.com/.",
      });
    }
    const grants = this.keys.get(apiKey);
    if (!grants) return error(401, { message: `Invalid API Key provided: ${maskKey(apiKey)}` });
    const livemode = apiKey.includes("_live_");

    const needs = (permission: string) => () =>
      error(403, {
        message: `The provided key '${maskKey(apiKey)}' does not have the required permissions for this endpoint on account 'acct_1MoRdlLgUG5tbmjc'. Having the '${permission}' permission would allow this request to continue.`,
      });
    const needsCheckoutRead = needs("rak_checkout_session_read");
    // Stripe's `expand[]` parameter, as the SDK encodes it (expand[0]=…, expand[1]=…).
    const expand = [...url.searchParams.entries()].filter(([k]) => /^expand\[\d*\]$/.test(k)).map(([, v]) => v);

    if (req.method === "GET" && url.pathname === "/v1/checkout/sessions") {
      if (!grants.checkoutSessionRead) return needsCheckoutRead();
      const limit = this.limit(url);
      const data = [openSession()].slice(0, limit).map((s) => ({ ...s, livemode }));
      return send(200, { object: "list", data, has_more: false, url: "/v1/checkout/sessions" });
    }

    const lineItems = /^\/v1\/checkout\/sessions\/([^/]+)\/line_items$/.exec(url.pathname);
    if (req.method === "GET" && lineItems) {
      if (!grants.checkoutSessionRead) return needsCheckoutRead();
      const id = decodeURIComponent(lineItems[1]!);
      const session = this.sessions.get(id);
      // A key only sees its own account and mode.
      if (!session || session.livemode !== livemode) {
        return error(404, {
          code: "resource_missing",
          doc_url: "https://stripe.com/docs/error-codes/resource-missing",
          message: `No such checkout.session: '${id}'`,
          param: "session",
        });
      }
      // Only the product of each item's price can be expanded here; Stripe refuses any other path.
      const unknown = expand.find((path) => path !== "data.price.product");
      if (unknown) return error(400, { message: `This property cannot be expanded (${unknown.replace(/^data\./, "")}).`, param: "expand" });
      const expandProducts = expand.includes("data.price.product");
      if (expandProducts && grants.productRead === false) return needs("rak_product_read")();
      const limit = this.limit(url);
      const after = url.searchParams.get("starting_after");
      const start = after ? session.items.findIndex((i) => i.id === after) + 1 : 0;
      const page = session.items.slice(start, start + limit).map((item) => {
        if (!expandProducts || typeof item.price?.product !== "string") return item;
        const productId = item.price.product as string;
        // A product the test did not describe is Stripe's fixture product under that id (every price has a product).
        const expanded = this.products.get(productId) ?? { ...fixtureProduct(), id: productId, livemode };
        return { ...item, price: { ...item.price, product: expanded } };
      });
      return send(200, { object: "list", data: page, has_more: start + limit < session.items.length, url: `/v1/checkout/sessions/${id}/line_items` });
    }

    const paymentLink = /^\/v1\/payment_links\/([^/]+)$/.exec(url.pathname);
    if (req.method === "GET" && paymentLink) {
      if (grants.paymentLinkRead === false) return needs("rak_payment_link_read")();
      const id = decodeURIComponent(paymentLink[1]!);
      const link = this.paymentLinks.get(id);
      if (!link || link.livemode !== livemode) {
        return error(404, {
          code: "resource_missing",
          doc_url: "https://stripe.com/docs/error-codes/resource-missing",
          message: `No such payment_link: '${id}'`,
          param: "id",
        });
      }
      return send(200, link);
    }

    return error(404, {
      message: `Unrecognized request URL (${req.method}: ${url.pathname}). Please see https://stripe.com/docs or we can help at https://support.stripe.com/.`,
    });
  }

  private limit(url: URL): number {
    const raw = Number(url.searchParams.get("limit") ?? "10");
    return Number.isInteger(raw) && raw >= 1 && raw <= 100 ? raw : 10;
  }
}
