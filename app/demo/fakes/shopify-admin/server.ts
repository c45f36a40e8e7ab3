// The loopback HTTP server: routing, auth, OAuth refresh, cost + leaky bucket, fault injection,
// bulk-result files and instrumentation. GraphQL work is delegated to the other modules.
import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import {
  execute,
  getOperationAST,
  getVariableValues,
  GraphQLError,
  Kind,
  parse,
  type DocumentNode,
  type FragmentDefinitionNode,
  type GraphQLSchema,
  type OperationDefinitionNode,
} from "graphql";
import { LeakyBucket, type ThrottleStatus } from "./bucket";
import { BulkOperations, type BulkOperationErrorCode, type BulkOperationRecord } from "./bulk";
import { actualQueryCost, requestedQueryCost, type CostInput } from "./cost";
import { INVALID_TOKEN_BODY, maxCostExceededError, syntaxError, throttledError, validateDocument, type ShopifyGraphQLError } from "./errors";
import {
  fieldResolver,
  mutationRoot,
  queryRoot,
  typeResolver,
  type ProtectedDataGrants,
  type ResolverContext,
  type SearchExtension,
  type ShopRuntime,
} from "./resolvers";
import { ADMIN_API_VERSION, loadAdminSchema } from "./schema";
import { ShopStore, type AddressRecord, type ShopInfo } from "./store";

export const SHOP_HEADER = "x-fake-shopify-shop";
const ACCESS_TOKEN_TTL_S = 3600;
const DEFAULT_SCOPE = "read_orders,read_customers,write_customers,write_discounts,write_pixels,read_customer_events,read_locales";
const REFRESH_TOKEN_TTL_S = 90 * 86_400;

export interface FakeShopifyAdminOptions {
  /** default 0 (any free port) */
  port?: number;
  /** default 127.0.0.1 */
  host?: string;
  /** clock in ms for the bucket, token expiry and timestamps; default Date.now */
  now?: () => number;
  /** leaky bucket size per shop; default 2000 */
  bucketSize?: number;
  /** points per second; default 100 */
  restoreRate?: number;
  /** single-query cap on requested cost; default 1000 */
  maxQueryCost?: number;
  /** largest `first`/`last`; default 250 */
  maxPageSize?: number;
  /** reads of a bulk operation before it completes; default 2 */
  bulkPollsToComplete?: number;
  /** most documents kept in each shop's log; default 10,000 */
  documentLogLimit?: number;
  /** lifetime of the expiring access tokens OAuth issues, seconds; default 3600 (Shopify's) */
  accessTokenTtlSeconds?: number;
}

export interface AddShopOptions {
  /** e.g. "reclaim-test.myshopify.com" */
  domain: string;
  accessToken: string;
  /** ms timestamp after which `accessToken` is refused; default never */
  accessTokenExpiresAt?: number;
  /** enables `grant_type=refresh_token` for this shop */
  refreshToken?: string;
  /** when set, OAuth calls must carry these */
  clientId?: string;
  clientSecret?: string;
  scope?: string;
  id?: number;
  name?: string;
  email?: string;
  contactEmail?: string;
  currencyCode?: string;
  ianaTimezone?: string;
  /** the shop's primary language (`shopLocales`), e.g. `ja`; default `en` */
  primaryLocale?: string;
  billingAddress?: Partial<AddressRecord>;
  /** base URL of the storefront in recovery links; default https://<domain> */
  storefrontUrl?: string;
  /** protected customer data granted to the app; `false` = none. Default: all granted */
  protectedCustomerData?: Partial<ProtectedDataGrants> | false;
  bucketSize?: number;
  restoreRate?: number;
  maxQueryCost?: number;
}

export interface ShopStats {
  /** every HTTP request routed to this shop */
  requests: number;
  /** authenticated GraphQL requests */
  graphqlRequests: number;
  throttled: number;
  maxCostExceeded: number;
  invalidDocuments: number;
  unauthorized: number;
  faultsInjected: number;
  /** requested cost of every query that ran */
  requestedCost: number;
  /** actual cost charged (after refunds) */
  actualCost: number;
  tokenRefreshes: number;
}

export type DocumentOutcome = "ok" | "throttled" | "max_cost" | "invalid" | "bad_request";

export interface LoggedDocument {
  at: number;
  apiVersion: string;
  operationName: string | null;
  query: string;
  variables: Record<string, unknown> | null;
  outcome: DocumentOutcome;
  requestedQueryCost: number | null;
  actualQueryCost: number | null;
}

export interface FailNextOptions {
  /** HTTP status to answer with; default 500 */
  status?: number;
  /** how many requests; default 1 */
  count?: number;
  /** only requests for this shop */
  shop?: string;
  /** which endpoint; default "graphql" */
  endpoint?: "graphql" | "oauth" | "any";
  /** seconds, sent as Retry-After */
  retryAfter?: number;
  /** only GraphQL documents whose text contains this (an operation name, a root field such as `webPixelCreate`) */
  matching?: string;
}

export interface TimeoutNextOptions {
  count?: number;
  /** how long to hold the request before answering normally; default: until close() */
  ms?: number;
  /** "hold" keeps the socket open; "destroy" closes it without an answer */
  mode?: "hold" | "destroy";
  shop?: string;
  endpoint?: "graphql" | "oauth" | "any";
}

interface Fault {
  kind: "fail" | "timeout";
  remaining: number;
  shop?: string;
  endpoint: "graphql" | "oauth" | "any";
  status: number;
  retryAfter?: number;
  ms?: number;
  mode: "hold" | "destroy";
  matching?: string;
}

interface IssuedToken {
  expiresAt: number | null;
}

interface ShopState {
  runtime: ShopRuntime;
  bucket: LeakyBucket;
  maxQueryCost: number;
  stats: ShopStats;
  documents: LoggedDocument[];
  accessTokens: Map<string, IssuedToken>;
  refreshToken: { current: string | null; previous: string | null; expiresAt: number | null };
  /** GraphQL requests still to answer THROTTLED whatever the bucket holds (throttleNext) */
  forcedThrottles?: number;
  clientId?: string;
  clientSecret?: string;
  scope: string;
}

type Prepared = { document: DocumentNode } | { errors: ShopifyGraphQLError[] };

const emptyStats = (): ShopStats => ({
  requests: 0,
  graphqlRequests: 0,
  throttled: 0,
  maxCostExceeded: 0,
  invalidDocuments: 0,
  unauthorized: 0,
  faultsInjected: 0,
  requestedCost: 0,
  actualCost: 0,
  tokenRefreshes: 0,
});

function allGranted(grants: AddShopOptions["protectedCustomerData"]): ProtectedDataGrants {
  if (grants === false) return { email: false, name: false, phone: false, address: false };
  return { email: true, name: true, phone: true, address: true, ...grants };
}

function json(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    "Content-Type": "application/json; charset=utf-8",
    "Content-Length": Buffer.byteLength(text),
    "X-Request-Id": randomBytes(8).toString("hex"),
    ...headers,
  });
  res.end(text);
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.on("error", reject);
  });
}

function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** Verifies an HS256 session token (JWT) with the app secret; returns its claims or null. */
function verifyJwt(token: string, secret: string): Record<string, unknown> | null {
  const [header, payload, signature] = token.split(".");
  if (!header || !payload || !signature) return null;
  const expected = createHmac("sha256", secret).update(`${header}.${payload}`).digest("base64url");
  if (!safeEqual(expected, signature)) return null;
  try {
    return JSON.parse(Buffer.from(payload, "base64url").toString("utf8")) as Record<string, unknown>;
  } catch {
    return null;
  }
}

export class FakeShopifyAdminServer {
  readonly schema: GraphQLSchema;
  private readonly server: Server;
  private readonly shops = new Map<string, ShopState>();
  private readonly faults: Fault[] = [];
  private readonly files = new Map<string, Buffer>();
  /** bulk result files honour `Range` (as Cloud Storage's signed URLs do); off: they answer 200 with the whole file */
  private bulkFileRanges = true;
  private readonly bulkFileRequests: BulkFileRequest[] = [];
  private readonly sockets = new Set<Socket>();
  private readonly held = new Set<NodeJS.Timeout>();
  private readonly prepared = new Map<string, Prepared>();
  private readonly now: () => number;
  private baseUrl = "";

  constructor(private readonly options: FakeShopifyAdminOptions = {}) {
    this.schema = loadAdminSchema();
    this.now = options.now ?? Date.now;
    this.server = createServer((req, res) => {
      this.handle(req, res).catch((error: unknown) => {
        if (!res.headersSent) json(res, 500, { errors: `fake Shopify Admin crashed: ${(error as Error).message}` });
        else res.destroy();
      });
    });
    this.server.on("connection", (socket) => {
      this.sockets.add(socket);
      socket.on("close", () => this.sockets.delete(socket));
    });
  }

  async listen(): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.server.once("error", reject);
      this.server.listen(this.options.port ?? 0, this.options.host ?? "127.0.0.1", () => resolve());
    });
    const address = this.server.address() as AddressInfo;
    this.baseUrl = `http://${address.address}:${address.port}`;
  }

  get url(): string {
    return this.baseUrl;
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  async close(): Promise<void> {
    for (const t of this.held) clearTimeout(t);
    this.held.clear();
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  // ------------------------------------------------------------------------------------------
  // Shops

  addShop(o: AddShopOptions): ShopStore {
    const domain = o.domain.toLowerCase();
    if (this.shops.has(domain)) throw new Error(`shop ${domain} already added`);
    const handle = domain.split(".")[0]!;
    const info: ShopInfo = {
      domain,
      id: o.id ?? 60_000_000_000 + (parseInt(createHmac("sha256", "id").update(domain).digest("hex").slice(0, 8), 16) % 1_000_000_000),
      name: o.name ?? handle.replace(/-/g, " ").replace(/\b\w/g, (c) => c.toUpperCase()),
      email: o.email ?? `owner@${handle}.example`,
      contactEmail: o.contactEmail ?? o.email ?? `support@${handle}.example`,
      currencyCode: o.currencyCode ?? "USD",
      ianaTimezone: o.ianaTimezone ?? "America/New_York",
      primaryLocale: o.primaryLocale ?? "en",
      billingAddress: {
        firstName: null,
        lastName: null,
        company: o.name ?? null,
        address1: "150 Elgin Street",
        address2: null,
        city: "Ottawa",
        province: "Ontario",
        provinceCode: "ON",
        country: "Canada",
        countryCode: "CA",
        zip: "K2P 1L4",
        phone: null,
        ...o.billingAddress,
      },
      ...(o.storefrontUrl ? { storefrontUrl: o.storefrontUrl.replace(/\/+$/, "") } : {}),
    };
    const store = new ShopStore(info, this.now);
    const bulk = new BulkOperations({
      schema: this.schema,
      now: this.now,
      nextId: () => store.nextId(),
      pollsToComplete: this.options.bulkPollsToComplete,
      execute: (document) => this.runBulkDocument(domain, document),
      publish: (jsonl) => {
        const name = randomBytes(12).toString("hex");
        this.files.set(name, Buffer.from(jsonl));
        return `${this.baseUrl}/__bulk/${name}.jsonl`;
      },
    });
    const state: ShopState = {
      runtime: {
        store,
        grants: allGranted(o.protectedCustomerData),
        bulk,
        flowFailures: { remaining: 0, message: "" },
        scope: o.scope ?? DEFAULT_SCOPE,
      },
      bucket: new LeakyBucket({
        maximumAvailable: o.bucketSize ?? this.options.bucketSize ?? 2000,
        restoreRate: o.restoreRate ?? this.options.restoreRate ?? 100,
        now: this.now,
      }),
      maxQueryCost: o.maxQueryCost ?? this.options.maxQueryCost ?? 1000,
      stats: emptyStats(),
      documents: [],
      accessTokens: new Map([[o.accessToken, { expiresAt: o.accessTokenExpiresAt ?? null }]]),
      refreshToken: {
        current: o.refreshToken ?? null,
        previous: null,
        expiresAt: o.refreshToken ? this.now() + REFRESH_TOKEN_TTL_S * 1000 : null,
      },
      clientId: o.clientId,
      clientSecret: o.clientSecret,
      scope: o.scope ?? DEFAULT_SCOPE,
    };
    this.shops.set(domain, state);
    return store;
  }

  private shop(domain: string): ShopState {
    const state = this.shops.get(domain.toLowerCase());
    if (!state) throw new Error(`fake Shopify Admin has no shop ${domain}; call addShop first`);
    return state;
  }

  store(domain: string): ShopStore {
    return this.shop(domain).runtime.store;
  }

  stats(domain: string): ShopStats {
    return { ...this.shop(domain).stats };
  }

  resetStats(domain: string): void {
    const s = this.shop(domain);
    s.stats = emptyStats();
    s.documents = [];
  }

  documents(domain: string): readonly LoggedDocument[] {
    return this.shop(domain).documents;
  }

  bucket(domain: string): LeakyBucket {
    return this.shop(domain).bucket;
  }

  /** Changes the access scopes granted to the app (comma-separated); queries outside them get ACCESS_DENIED. */
  setScopes(domain: string, scope: string): void {
    const s = this.shop(domain);
    s.scope = scope;
    s.runtime.scope = scope;
  }

  setProtectedCustomerData(domain: string, grants: Partial<ProtectedDataGrants> | false): void {
    this.shop(domain).runtime.grants = allGranted(grants);
  }

  /** Valid access tokens and the current refresh token of a shop. */
  tokens(domain: string): { accessTokens: string[]; refreshToken: string | null } {
    const s = this.shop(domain);
    const now = this.now();
    return {
      accessTokens: [...s.accessTokens].filter(([, t]) => t.expiresAt === null || t.expiresAt > now).map(([k]) => k),
      refreshToken: s.refreshToken.current,
    };
  }

  revokeAccessTokens(domain: string): void {
    this.shop(domain).accessTokens.clear();
  }

  failFlowTrigger(domain: string, o: { count?: number; message?: string } = {}): void {
    this.shop(domain).runtime.flowFailures = {
      remaining: o.count ?? 1,
      message: o.message ?? "Flow trigger could not be processed",
    };
  }

  /**
   * The shop's next `count` GraphQL requests answer THROTTLED (HTTP 200, `errors[].extensions.code`), as when another
   * app sharing the store's bucket drained it; unlike `bucket(domain).set(0)` this does not depend on the clock.
   */
  throttleNext(domain: string, count = 1): void {
    const s = this.shop(domain);
    s.forcedThrottles = (s.forcedThrottles ?? 0) + count;
  }

  failNextBulkOperation(domain: string, errorCode: BulkOperationErrorCode = "INTERNAL_SERVER_ERROR"): void {
    this.shop(domain).runtime.bulk.failNext(errorCode);
  }

  completeBulkOperations(domain: string): void {
    this.shop(domain).runtime.bulk.completeAll();
  }

  bulkOperations(domain: string): readonly BulkOperationRecord[] {
    return this.shop(domain).runtime.bulk.list();
  }

  // ------------------------------------------------------------------------------------------
  // Faults

  failNext(o: FailNextOptions = {}): void {
    this.faults.push({
      kind: "fail",
      remaining: o.count ?? 1,
      shop: o.shop?.toLowerCase(),
      endpoint: o.endpoint ?? "graphql",
      status: o.status ?? 500,
      retryAfter: o.retryAfter,
      mode: "hold",
      matching: o.matching,
    });
  }

  timeoutNext(o: TimeoutNextOptions = {}): void {
    this.faults.push({
      kind: "timeout",
      remaining: o.count ?? 1,
      shop: o.shop?.toLowerCase(),
      endpoint: o.endpoint ?? "graphql",
      status: 0,
      ms: o.ms,
      mode: o.mode ?? "hold",
    });
  }

  clearFaults(): void {
    this.faults.length = 0;
  }

  private takeFault(endpoint: "graphql" | "oauth", shop: string | undefined, body: string): Fault | undefined {
    const index = this.faults.findIndex(
      (f) => f.remaining > 0 && (f.endpoint === "any" || f.endpoint === endpoint) && (!f.shop || f.shop === shop) && (!f.matching || body.includes(f.matching)),
    );
    if (index === -1) return undefined;
    const fault = this.faults[index]!;
    fault.remaining -= 1;
    if (fault.remaining === 0) this.faults.splice(index, 1);
    return fault;
  }

  /** Applies a fault; returns true when the request is finished (answered or dropped). */
  private async applyFault(fault: Fault, req: IncomingMessage, res: ServerResponse): Promise<boolean> {
    if (fault.kind === "fail") {
      const headers: Record<string, string> = fault.retryAfter !== undefined ? { "Retry-After": String(fault.retryAfter) } : {};
      if (fault.status === 502) {
        res.writeHead(502, { "Content-Type": "text/html", ...headers });
        res.end("<html><body><h1>502 Bad Gateway</h1></body></html>");
      } else {
        const messages: Record<number, string> = {
          429: "Exceeded 2 calls per second for api client. Reduce request rates to resume uninterrupted service.",
          500: "Internal Server Error",
          503: "Service Unavailable",
          504: "Gateway Timeout",
        };
        json(res, fault.status, { errors: messages[fault.status] ?? `HTTP ${fault.status}` }, headers);
      }
      return true;
    }
    if (fault.mode === "destroy") {
      await this.wait(fault.ms ?? 0);
      req.socket.destroy();
      return true;
    }
    // hold: answer normally, but late (or never, when no ms was given).
    if (fault.ms === undefined) {
      await new Promise<void>((resolve) => req.socket.once("close", () => resolve()));
      return true;
    }
    await this.wait(fault.ms);
    return req.socket.destroyed;
  }

  private wait(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        this.held.delete(t);
        resolve();
      }, ms);
      this.held.add(t);
    });
  }

  // ------------------------------------------------------------------------------------------
  // HTTP

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "http://fake.invalid");
    let path = url.pathname;
    let shopDomain = (req.headers[SHOP_HEADER] as string | undefined)?.toLowerCase();
    const prefixed = /^\/__shop\/([^/]+)(\/.*)$/.exec(path);
    if (prefixed) {
      shopDomain ??= decodeURIComponent(prefixed[1]!).toLowerCase();
      path = prefixed[2]!;
    }
    const host = (req.headers.host ?? "").replace(/:\d+$/, "").toLowerCase();
    if (!shopDomain && this.shops.has(host)) shopDomain = host;

    const bulkFile = /^\/__bulk\/([0-9a-f]+)\.jsonl$/.exec(path);
    if (req.method === "GET" && bulkFile) return this.serveBulkFile(bulkFile[1]!, req, res);

    const graphqlRoute = /^\/admin\/api\/([^/]+)\/graphql\.json$/.exec(path);
    const oauthRoute = path === "/admin/oauth/access_token";
    if (!graphqlRoute && !oauthRoute) return json(res, 404, { errors: "Not Found" });

    const state = shopDomain ? this.shops.get(shopDomain) : undefined;
    if (state) state.stats.requests += 1;
    // Read first, so a fault can be aimed at one document (`matching`).
    const body = req.method === "POST" ? await readBody(req) : "";
    const fault = this.takeFault(graphqlRoute ? "graphql" : "oauth", shopDomain, body);
    if (fault) {
      if (state) state.stats.faultsInjected += 1;
      if (await this.applyFault(fault, req, res)) return;
    }
    if (!state) return json(res, 404, { errors: "Not Found" });
    if (req.method !== "POST") return json(res, 405, { errors: "Method Not Allowed" });

    if (oauthRoute) return this.handleOAuth(state, req, body, res);
    return this.handleGraphQL(state, graphqlRoute![1]!, req, body, res);
  }

  /**
   * A bulk result file, as Cloud Storage serves it: one byte range (`Range: bytes=a-`, `a-b`, `-n`) answered 206 with
   * Content-Range, a range starting past the end 416, anything else (no header, several ranges) 200 with the file.
   */
  private serveBulkFile(name: string, req: IncomingMessage, res: ServerResponse): void {
    const file = this.files.get(name);
    const rangeHeader = typeof req.headers.range === "string" ? req.headers.range : null;
    const answer = (status: number) => this.bulkFileRequests.push({ name, range: rangeHeader, status });
    if (file === undefined) {
      answer(404);
      return json(res, 404, { errors: "Not Found" });
    }
    const range = this.bulkFileRanges ? byteRange(rangeHeader, file.length) : null;
    if (range === "unsatisfiable") {
      answer(416);
      res.writeHead(416, { "Content-Range": `bytes */${file.length}`, "Content-Length": 0 });
      res.end();
      return;
    }
    const ranges = this.bulkFileRanges ? { "Accept-Ranges": "bytes" } : {};
    if (range) {
      answer(206);
      res.writeHead(206, {
        "Content-Type": "application/jsonl",
        "Content-Length": range.end - range.start + 1,
        "Content-Range": `bytes ${range.start}-${range.end}/${file.length}`,
        ...ranges,
      });
      res.end(file.subarray(range.start, range.end + 1));
      return;
    }
    answer(200);
    res.writeHead(200, { "Content-Type": "application/jsonl", "Content-Length": file.length, ...ranges });
    res.end(file);
  }

  /** Off: bulk result files ignore `Range` and always answer 200 with the whole file (servers may). Default on. */
  setBulkFileRanges(on: boolean): void {
    this.bulkFileRanges = on;
  }

  /** Every request for a bulk result file: its Range header and the status answered. */
  bulkFileDownloads(): readonly BulkFileRequest[] {
    return this.bulkFileRequests;
  }

  private validToken(state: ShopState, token: string | undefined): boolean {
    if (!token) return false;
    const issued = state.accessTokens.get(token);
    return !!issued && (issued.expiresAt === null || issued.expiresAt > this.now());
  }

  // ------------------------------------------------------------------------------------------
  // OAuth: refresh of expiring offline tokens, and token exchange

  private handleOAuth(state: ShopState, req: IncomingMessage, body: string, res: ServerResponse): void {
    const type = String(req.headers["content-type"] ?? "");
    let params: Record<string, string>;
    try {
      params = type.includes("application/json") ? (JSON.parse(body) as Record<string, string>) : Object.fromEntries(new URLSearchParams(body));
    } catch {
      return json(res, 400, { error: "invalid_request", error_description: "Malformed request body" });
    }
    if ((state.clientId && params.client_id !== state.clientId) || (state.clientSecret && params.client_secret !== state.clientSecret)) {
      return json(res, 400, { error: "invalid_client", error_description: "Client authentication failed" });
    }
    const now = this.now();
    const ttl = this.options.accessTokenTtlSeconds ?? ACCESS_TOKEN_TTL_S;
    const issue = (expiring: boolean) => {
      const accessToken = `shpat_${randomBytes(16).toString("hex")}`;
      state.accessTokens.set(accessToken, { expiresAt: expiring ? now + ttl * 1000 : null });
      if (!expiring) return { access_token: accessToken, scope: state.scope };
      const refreshToken = `shprt_${randomBytes(16).toString("hex")}`;
      state.refreshToken = { current: refreshToken, previous: state.refreshToken.current, expiresAt: now + REFRESH_TOKEN_TTL_S * 1000 };
      return {
        access_token: accessToken,
        scope: state.scope,
        expires_in: ttl,
        refresh_token: refreshToken,
        refresh_token_expires_in: REFRESH_TOKEN_TTL_S,
      };
    };

    if (params.grant_type === "refresh_token") {
      const given = params.refresh_token;
      const r = state.refreshToken;
      const live = r.expiresAt !== null && r.expiresAt > now;
      // The previous refresh token still works until the new one has been used.
      const ok = live && !!given && (given === r.current || given === r.previous);
      if (!ok) return json(res, 400, { error: "invalid_grant", error_description: "The refresh token is invalid or has expired." });
      if (given === r.current) r.previous = null;
      state.stats.tokenRefreshes += 1;
      return json(res, 200, issue(true));
    }

    if (params.grant_type === "urn:ietf:params:oauth:grant-type:token-exchange") {
      const claims = state.clientSecret ? verifyJwt(params.subject_token ?? "", state.clientSecret) : {};
      if (!claims) return json(res, 400, { error: "invalid_subject_token", error_description: "Session token is invalid" });
      const online = params.requested_token_type === "urn:shopify:params:oauth:token-type:online-access-token";
      const tokens = issue(!online && params.expiring === "1");
      if (!online) return json(res, 200, tokens);
      return json(res, 200, {
        ...tokens,
        expires_in: 86_399,
        associated_user_scope: state.scope,
        associated_user: {
          id: Number(claims.sub ?? 1),
          first_name: "Staff",
          last_name: "Member",
          email: "staff@example.com",
          account_owner: true,
          locale: "en",
          collaborator: false,
          email_verified: true,
        },
      });
    }
    return json(res, 400, { error: "unsupported_grant_type", error_description: `Unsupported grant_type: ${params.grant_type}` });
  }

  // ------------------------------------------------------------------------------------------
  // GraphQL

  private prepare(query: string): Prepared {
    const cached = this.prepared.get(query);
    if (cached) return cached;
    let result: Prepared;
    try {
      const document = parse(query);
      const errors = validateDocument(this.schema, document);
      result = errors.length > 0 ? { errors } : { document };
    } catch (e) {
      result = { errors: [syntaxError(e as GraphQLError)] };
    }
    if (this.prepared.size > 1000) this.prepared.delete(this.prepared.keys().next().value!);
    this.prepared.set(query, result);
    return result;
  }

  private log(state: ShopState, entry: LoggedDocument): void {
    state.documents.push(entry);
    const limit = this.options.documentLogLimit ?? 10_000;
    if (state.documents.length > limit) state.documents.splice(0, state.documents.length - limit);
  }

  private async handleGraphQL(state: ShopState, apiVersion: string, req: IncomingMessage, body: string, res: ServerResponse): Promise<void> {
    const headers = { "X-Shopify-API-Version": ADMIN_API_VERSION };
    if (!this.validToken(state, req.headers["x-shopify-access-token"] as string | undefined)) {
      state.stats.unauthorized += 1;
      return json(res, 401, INVALID_TOKEN_BODY, headers);
    }
    let payload: { query?: unknown; variables?: unknown; operationName?: unknown };
    try {
      payload = JSON.parse(body) as typeof payload;
    } catch {
      payload = {};
    }
    if (typeof payload.query !== "string" || payload.query.trim() === "") {
      return json(res, 400, { errors: { query: "Required parameter missing or invalid" } }, headers);
    }
    state.stats.graphqlRequests += 1;
    const query = payload.query;
    const variables = (payload.variables && typeof payload.variables === "object" ? payload.variables : null) as Record<string, unknown> | null;
    const operationName = typeof payload.operationName === "string" ? payload.operationName : null;
    const entry: LoggedDocument = {
      at: this.now(),
      apiVersion,
      operationName,
      query,
      variables: variables && structuredClone(variables),
      outcome: "ok",
      requestedQueryCost: null,
      actualQueryCost: null,
    };
    this.log(state, entry);
    const fail = (outcome: DocumentOutcome, errors: ShopifyGraphQLError[], extra: Record<string, unknown> = {}) => {
      entry.outcome = outcome;
      if (outcome === "invalid") state.stats.invalidDocuments += 1;
      json(res, 200, { errors, ...extra }, headers);
    };

    const prepared = this.prepare(query);
    if ("errors" in prepared) return fail("invalid", prepared.errors);
    const document = prepared.document;
    const operation = getOperationAST(document, operationName);
    if (!operation) {
      return fail("invalid", [
        { message: operationName ? `No operation named "${operationName}"` : "An operation name is required", extensions: { code: "operationNotFound" } },
      ]);
    }
    if (operation.operation === "subscription") {
      return fail("invalid", [{ message: "Subscriptions are not supported by the fake", extensions: { code: "FAKE_NOT_IMPLEMENTED" } }]);
    }
    const coerced = getVariableValues(this.schema, operation.variableDefinitions ?? [], variables ?? {});
    if (coerced.errors) {
      return fail(
        "invalid",
        coerced.errors.map((e) => {
          const name = /"\$(\w+)"/.exec(e.message)?.[1] ?? "";
          const def = operation.variableDefinitions?.find((d) => d.variable.name.value === name);
          const typeText = def ? printType(def.type) : "?";
          return {
            message: `Variable $${name} of type ${typeText} was provided invalid value`,
            ...(e.locations ? { locations: e.locations } : {}),
            extensions: { value: variables?.[name] ?? null, problems: [{ path: [], explanation: e.message }] },
          };
        }),
      );
    }

    const input: CostInput = { schema: this.schema, operation, fragments: fragmentsOf(document), variables: coerced.coerced };
    const requested = requestedQueryCost(input, { maxPageSize: this.options.maxPageSize ?? 250 });
    if (requested.errors.length > 0) return fail("invalid", requested.errors);
    entry.requestedQueryCost = requested.cost;
    if (requested.cost > state.maxQueryCost) {
      state.stats.maxCostExceeded += 1;
      return fail("max_cost", [maxCostExceededError(requested.cost, state.maxQueryCost)]);
    }
    const forced = (state.forcedThrottles ?? 0) > 0;
    if (forced) state.forcedThrottles! -= 1;
    if (forced || !state.bucket.tryTake(requested.cost)) {
      state.stats.throttled += 1;
      return fail("throttled", [throttledError()], {
        extensions: { cost: costExtension(requested.cost, null, state.bucket.status()) },
      });
    }

    const context: ResolverContext = { shop: state.runtime, bulk: false, search: [], now: this.now };
    const result = await execute({
      schema: this.schema,
      document,
      rootValue: operation.operation === "mutation" ? mutationRoot : queryRoot,
      contextValue: context,
      variableValues: variables ?? {},
      operationName: operationName ?? undefined,
      fieldResolver,
      typeResolver,
    });
    const actual = Math.min(requested.cost, actualQueryCost(input, result.data as Record<string, unknown> | null | undefined));
    state.bucket.refund(requested.cost - actual);
    state.stats.requestedCost += requested.cost;
    state.stats.actualCost += actual;
    entry.actualQueryCost = actual;

    const extensions: Record<string, unknown> = { cost: costExtension(requested.cost, actual, state.bucket.status()) };
    if (context.search.length > 0) extensions.search = context.search satisfies SearchExtension[];
    json(
      res,
      200,
      {
        ...(result.errors ? { errors: result.errors.map((e) => e.toJSON()) } : {}),
        data: result.data ?? null,
        extensions,
      },
      headers,
    );
  }

  /** Runs a bulk query document for a shop (no cost, no page limits). */
  private runBulkDocument(domain: string, document: DocumentNode) {
    const state = this.shop(domain);
    const context: ResolverContext = { shop: state.runtime, bulk: true, search: [], now: this.now };
    const result = execute({ schema: this.schema, document, rootValue: queryRoot, contextValue: context, fieldResolver, typeResolver });
    if (result instanceof Promise) throw new Error("fake resolvers must be synchronous");
    return result;
  }

  // ------------------------------------------------------------------------------------------
  // Client helpers

  graphqlUrl(domain: string, apiVersion = ADMIN_API_VERSION): string {
    return `${this.baseUrl}/__shop/${encodeURIComponent(domain)}/admin/api/${apiVersion}/graphql.json`;
  }

  /**
   * A fetch for `setAbstractFetchFunc` (or any client): requests to a fake shop's
   * `https://<shop>/…` go to this server with the shop in a header; requests to this server pass
   * through; anything else is refused (or sent to `fallback`) so tests never reach the network.
   */
  fetchFor(options: { fallback?: typeof fetch } = {}): typeof fetch {
    return fakeShopifyFetch(this.baseUrl, { ...options, isShop: (domain) => this.shops.has(domain) });
  }

  /** Sends a GraphQL document straight to the fake (tests of the fake, demos, benchmarks). */
  async graphql(
    domain: string,
    query: string,
    variables?: Record<string, unknown>,
    options: { accessToken?: string; apiVersion?: string; operationName?: string; signal?: AbortSignal } = {},
  ): Promise<{ status: number; body: any }> {
    const token = options.accessToken ?? [...this.shop(domain).accessTokens.keys()][0] ?? "";
    const response = await fetch(this.graphqlUrl(domain, options.apiVersion), {
      method: "POST",
      headers: { "Content-Type": "application/json", "X-Shopify-Access-Token": token },
      body: JSON.stringify({ query, variables, operationName: options.operationName }),
      signal: options.signal,
    });
    const text = await response.text();
    let body: unknown = text;
    try {
      body = JSON.parse(text);
    } catch {
      // non-JSON (e.g. an injected 502 page)
    }
    return { status: response.status, body };
  }
}

function costExtension(requested: number, actual: number | null, throttleStatus: ThrottleStatus) {
  return { requestedQueryCost: requested, actualQueryCost: actual, throttleStatus };
}

function fragmentsOf(document: DocumentNode): Record<string, FragmentDefinitionNode> {
  const out: Record<string, FragmentDefinitionNode> = {};
  for (const d of document.definitions) if (d.kind === Kind.FRAGMENT_DEFINITION) out[d.name.value] = d;
  return out;
}

function printType(node: NonNullable<OperationDefinitionNode["variableDefinitions"]>[number]["type"]): string {
  if (node.kind === Kind.NON_NULL_TYPE) return `${printType(node.type)}!`;
  if (node.kind === Kind.LIST_TYPE) return `[${printType(node.type)}]`;
  return node.name.value;
}

/**
 * The fetch behind `fetchFor`, usable from another process than the fake's (the benchmark runs the fake in a
 * child process so that the app's memory is measured alone): `https://<shop>/…` → `baseUrl/…` with the shop in
 * `X-Fake-Shopify-Shop`; `baseUrl` itself passes through; other hosts are refused unless `fallback` is given.
 */
export interface BulkFileRequest {
  name: string;
  range: string | null;
  status: number;
}

/**
 * One byte range of a file of `size` bytes (RFC 9110 §14.1.2): inclusive bounds, "unsatisfiable" (416), or null when
 * the header is absent, malformed or asks for several ranges (then the whole file is served, which HTTP allows).
 */
export function byteRange(header: string | null | undefined, size: number): { start: number; end: number } | "unsatisfiable" | null {
  const match = /^bytes=(\d*)-(\d*)$/.exec(header?.trim() ?? "");
  if (!match || (match[1] === "" && match[2] === "")) return null;
  if (match[1] === "") {
    const suffix = Number(match[2]);
    if (suffix === 0 || size === 0) return "unsatisfiable";
    return { start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(match[1]);
  if (match[2] !== "" && Number(match[2]) < start) return null;
  if (start >= size) return "unsatisfiable";
  const last = match[2] === "" ? size - 1 : Number(match[2]);
  return { start, end: Math.min(last, size - 1) };
}

export function fakeShopifyFetch(baseUrl: string, options: { fallback?: typeof fetch; isShop?: (domain: string) => boolean } = {}): typeof fetch {
  const own = new URL(baseUrl);
  return (async (input: RequestInfo | URL, init?: RequestInit) => {
    const request = new Request(input, init);
    const target = new URL(request.url);
    if (target.host === own.host) return fetch(request);
    const domain = target.hostname.toLowerCase();
    if (!(options.isShop?.(domain) ?? false) && !domain.endsWith(".myshopify.com")) {
      if (options.fallback) return options.fallback(input, init);
      throw new TypeError(`fake Shopify Admin fetch: refusing to reach ${target.origin} (not a fake shop)`);
    }
    const headers = new Headers(request.headers);
    headers.set(SHOP_HEADER, domain);
    const method = request.method.toUpperCase();
    const body = method === "GET" || method === "HEAD" ? undefined : await request.arrayBuffer();
    return fetch(`${baseUrl}${target.pathname}${target.search}`, {
      method,
      headers,
      body,
      // The caller's own signal, not `request.signal`: undici links a Request's signal to the one it was built with
      // only weakly, so once `request` is garbage-collected an abort (a client timeout) would no longer arrive.
      signal: init?.signal ?? (input instanceof Request ? input.signal : undefined),
      redirect: "manual",
    });
  }) as typeof fetch;
}
