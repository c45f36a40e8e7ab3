/**
 * The demo portal (loopback only): everything the demo plays that is not Reclaim.
 * - `/` — an admin shell that frames the app as Shopify's admin does, and hands session tokens to the App Bridge
 *   stand-in inside it (signed with the demo app's secret, as Shopify signs them with the app's); `/?locale=ja` opens it
 *   in another admin language, as a staff member whose Shopify admin is in Japanese would (the switch in its top bar);
 * - `/inbox` — the emails the SMTP server captured, rendered in a sandboxed frame, links clickable;
 * - `/store/…` — the demo shop's storefront: product images, the discount hop and the checkout page behind Shopify
 *   recovery links; `/stripe/r/…` — the page behind Stripe recovery links;
 * - `/api/…` — status, session tokens, pause / resume (used by the shell and the tests).
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import express, { type Request, type RequestHandler, type Response } from "express";
import { isLanguage, LANGUAGE_NAMES, LANGUAGES, type Language } from "../i18n/locales";
import { checkoutTotals, type StoredCheckout } from "./fakes/shopify-admin/store";
import type { LivingStore } from "./fakes/shopify-admin/living-store";
import type { StripeSimulator } from "./fakes/stripe-api/simulator";
import type { ClickLinks } from "./click-links";
import type { VirtualClock } from "./clock";
import type { Inbox, InboxEntry } from "./inbox";
import { loopbackOnly } from "./loopback";
import { demoTime, demoTopbar, esc, moneyText, page } from "./pages";
import { adminHostParam, signDemoSessionToken } from "./session-token";
import type { DemoShopper } from "./shopper";

const here = path.dirname(fileURLToPath(import.meta.url));

export interface PortalDeps {
  portalOrigin: string;
  appOrigin: string;
  allowedHosts: string[];
  shop: { domain: string; name: string };
  apiKey: string;
  apiSecret: string;
  clock: VirtualClock;
  inbox: Inbox;
  living: LivingStore;
  stripe: StripeSimulator;
  shopper: DemoShopper | null;
  links: ClickLinks;
  /** Real ms between refreshes of the overview in the admin. */
  refreshMs: number;
  control: { pause(): Promise<void>; resume(): Promise<void> };
  status(): Record<string, unknown>;
}

export function createPortal(d: PortalDeps) {
  const app = express();
  app.disable("x-powered-by");
  app.use(loopbackOnly(d.allowedHosts));
  app.use(express.urlencoded({ extended: false, limit: "16kb" }));
  const adminScript = readFileSync(path.join(here, "browser/admin-shell.js"), "utf8");
  const inboxUrl = `${d.portalOrigin}/inbox`;
  const topbar = demoTopbar({ adminUrl: `${d.portalOrigin}/`, inboxUrl, shopName: d.shop.name });
  const now = () => d.clock.now();
  // The demo staff member's admin language: Shopify opens an embedded app with `locale` set to it. Kept while the demo
  // runs, so the top bar's Admin link and a reload keep the language last chosen.
  let adminLanguage: Language = "en";

  // Requests that change something or hand out a token: from the portal's own pages or from a local tool (no Origin),
  // never from another site's page.
  const sameOrigin: RequestHandler = (req, res, next) => {
    const origin = req.headers.origin;
    if (origin && origin !== d.portalOrigin) {
      res.status(403).type("text/plain").send("Only the demo admin may ask for this.");
      return;
    }
    next();
  };

  const token = () => signDemoSessionToken({ shop: d.shop.domain, apiKey: d.apiKey, apiSecret: d.apiSecret, now: now(), lifetimeMs: 60_000 * d.clock.factor });

  // ------------------------------------------------------------------------------------------------------------
  // Admin shell

  app.get("/", (req, res) => {
    if (isLanguage(req.query.locale)) adminLanguage = req.query.locale;
    const requested = typeof req.query.path === "string" ? req.query.path : "/app";
    const appPath = /^\/app(\/[A-Za-z0-9_\-/.]*)?$/.test(requested) ? requested : "/app";
    const src = new URL(appPath, d.appOrigin);
    src.searchParams.set("embedded", "1");
    src.searchParams.set("shop", d.shop.domain);
    src.searchParams.set("host", adminHostParam(d.shop.domain));
    src.searchParams.set("locale", adminLanguage);
    src.searchParams.set("id_token", token());
    const config = { appOrigin: d.appOrigin, path: appPath, refreshMs: d.refreshMs };
    res
      .set("Cache-Control", "no-store")
      .type("html")
      .send(
        page(
          `Reclaim · ${d.shop.name} · demo admin`,
          `<div class="admin">
  <aside><div class="store">${esc(d.shop.name)}<div class="muted">${esc(d.shop.domain)}</div></div>
    <div class="section">Apps</div><div class="app-name">Reclaim</div><nav id="app-menu"></nav>
    <div class="section">Demo</div><nav><a href="/inbox">Inbox <span class="badge" id="inbox-count">0</span></a></nav>
  </aside>
  <section><iframe id="app-frame" name="app-iframe" title="Reclaim" src="${esc(src.toString())}"></iframe></section>
</div>
<div id="toast" class="toast" role="status" aria-live="polite"></div>
<script type="application/json" id="demo-config">${JSON.stringify(config).replace(/</g, "\\u003c")}</script>
<script src="/admin.js"></script>`,
          {
            head: `<style>
body{height:100vh;display:flex;flex-direction:column}.admin{flex:1;display:flex;min-height:0}
aside{width:220px;background:#ebebeb;border-right:1px solid var(--line);padding:12px;overflow:auto}aside nav a{display:block;padding:6px 10px;border-radius:8px;color:var(--ink);text-decoration:none}aside nav a.active,aside nav a:hover{background:#fff}
.store{font-weight:600;margin-bottom:16px}.section{font-size:12px;color:var(--muted);text-transform:uppercase;margin:16px 0 6px}.app-name{font-weight:600;padding:0 10px 4px}
section{flex:1;min-width:0}iframe{width:100%;height:100%;border:0;background:#f1f1f1}
.toast{position:fixed;bottom:24px;left:50%;transform:translateX(-50%);background:#1a1a1a;color:#fff;padding:10px 16px;border-radius:8px;opacity:0;transition:opacity .2s;pointer-events:none}.toast.visible{opacity:1}.toast.error{background:#8e1f0b}
</style>`,
            topbar: `<div class="topbar"><strong>Reclaim demo admin</strong><span class="muted">plays Shopify's admin on this machine</span><span class="spacer"></span><span id="demo-clock" class="muted"></span><label class="muted" title="The admin language Shopify opens the app with">Admin language <select id="admin-language">${LANGUAGES.map((l) => `<option value="${l}" lang="${l}"${l === adminLanguage ? " selected" : ""}>${esc(LANGUAGE_NAMES[l])}</option>`).join("")}</select></label><label class="muted"><input type="checkbox" id="live" checked> live</label><button class="secondary" id="pause" type="button">Pause</button><a href="/inbox">Inbox</a></div>`,
          },
        ),
      );
  });

  app.get("/admin.js", (_req, res) => {
    res.type("text/javascript").set("Cache-Control", "no-store").send(adminScript);
  });

  // ------------------------------------------------------------------------------------------------------------
  // API

  app.post("/api/session-token", sameOrigin, (_req, res) => {
    res.set("Cache-Control", "no-store").json({ token: token() });
  });
  app.get("/api/status", (_req, res) => {
    res.set("Cache-Control", "no-store").json(d.status());
  });
  app.post("/api/pause", sameOrigin, (_req, res, next) => {
    d.control.pause().then(() => res.json(d.status()), next);
  });
  app.post("/api/resume", sameOrigin, (_req, res, next) => {
    d.control.resume().then(() => res.json(d.status()), next);
  });

  // ------------------------------------------------------------------------------------------------------------
  // Inbox

  const shopperBadge = (entry: InboxEntry) => {
    const o = d.shopper?.outcome(entry.id);
    if (!o || o.decision === "waiting") return "";
    if (o.decision === "ignored") return `<span class="badge">demo shopper: not opened</span>`;
    return o.bought
      ? `<span class="badge ok">demo shopper: clicked and bought</span>`
      : `<span class="badge info">demo shopper: clicked (${esc(o.note)})</span>`;
  };

  app.get("/inbox", async (_req, res, next) => {
    try {
      const entries = [...d.inbox.list()].reverse().slice(0, 200);
      const kinds = await mapLimit(entries, 6, (e) => (e.clickUrl ? d.links.resolve(e.clickUrl).catch(() => null) : Promise.resolve(null)));
      const rows = entries
        .map((e, i) => {
          const kind = kinds[i]?.kind;
          const source = kind === "shopify" ? `<span class="badge info">Shopify</span>` : kind === "stripe" ? `<span class="badge warn">Stripe</span>` : "";
          return `<tr><td class="muted">${esc(demoTime(e.receivedAt))}</td><td>${esc(e.to.join(", "))}</td><td><a href="/inbox/${esc(e.id)}">${esc(e.subject)}</a></td><td>${source} ${shopperBadge(e)}</td></tr>`;
        })
        .join("");
      const count = d.inbox.list().length;
      res
        .set("Cache-Control", "no-store")
        .type("html")
        .send(
          page(
            "Demo inbox",
            `<main><div class="card"><div class="row"><h1>Inbox</h1><span class="spacer"></span><span id="new-mail"></span></div>
<p class="muted">Every email Reclaim sends in the demo is delivered over SMTP to 127.0.0.1:${d.inbox.port} and kept here (nothing leaves this machine). Times are demo time (UTC).</p>
${count === 0 ? `<p>No emails yet. Reclaim's first email goes out 1 hour (demo time) after a cart is abandoned.</p>` : `<table><thead><tr><th>Received</th><th>To</th><th>Subject</th><th></th></tr></thead><tbody>${rows}</tbody></table>`}
</div></main>
<script>(function(){var n=${count};setInterval(function(){fetch("/api/status").then(function(r){return r.json()}).then(function(s){if(s.inbox.emails>n){var el=document.getElementById("new-mail");el.innerHTML='<a href="/inbox">'+(s.inbox.emails-n)+' new — refresh</a>'}})},3000)})()</script>`,
            { topbar },
          ),
        );
    } catch (error) {
      next(error);
    }
  });

  app.get("/inbox/follow", async (req, res, next) => {
    try {
      const url = typeof req.query.url === "string" ? req.query.url : "";
      const result = await d.links.follow(url, req.headers["user-agent"]);
      if (result.location) return res.redirect(302, result.location);
      res.status(result.status).type("html").send(result.body);
    } catch (error) {
      next(error);
    }
  });

  app.get("/inbox/:id", async (req, res, next) => {
    try {
      const entry = d.inbox.get(req.params.id!);
      const mail = entry ? await d.inbox.read(entry.id) : null;
      if (!entry || !mail)
        return res
          .status(404)
          .type("html")
          .send(page("Not found", `<main><div class="card">No such email. <a href="/inbox">Back to the inbox</a></div></main>`, { topbar }));
      const header = (name: string) => {
        const line = mail.headerLines.find((h) => h.key === name);
        return line ? line.line.slice(line.line.indexOf(":") + 1).trim() : "";
      };
      res
        .set("Cache-Control", "no-store")
        .type("html")
        .send(
          page(
            entry.subject,
            `<main><div class="card"><h1>${esc(entry.subject)}</h1>
<table><tbody>
<tr><th>From</th><td>${esc(entry.from)}</td></tr><tr><th>To</th><td>${esc(entry.to.join(", "))}</td></tr>
<tr><th>Date</th><td>${esc(mail.date ? demoTime(mail.date.getTime()) : demoTime(entry.receivedAt))} (demo time, UTC)</td></tr>
<tr><th>List-Unsubscribe</th><td class="muted">${esc(header("list-unsubscribe")) || "—"}</td></tr>
</tbody></table>
<p>${shopperBadge(entry)}</p>
<p class="note">The buttons in this email go through Reclaim's click redirect (a click is recorded), then to the demo checkout page, where the purchase can be completed.</p>
<iframe title="Email body" sandbox="allow-popups allow-popups-to-escape-sandbox allow-top-navigation-by-user-activation" src="/inbox/${esc(entry.id)}/body" style="width:100%;height:900px;border:1px solid var(--line);border-radius:8px;background:#fff"></iframe>
<p><a href="/inbox">← Inbox</a> · <a href="/inbox/${esc(entry.id)}/raw">View the raw message (.eml)</a></p>
<details><summary>Text version</summary><pre style="white-space:pre-wrap">${esc(mail.text ?? "")}</pre></details>
</div></main>`,
            { topbar },
          ),
        );
    } catch (error) {
      next(error);
    }
  });

  app.get("/inbox/:id/body", async (req, res, next) => {
    try {
      const mail = await d.inbox.read(req.params.id!);
      if (!mail) return res.status(404).type("text/plain").send("No such email.");
      let html = typeof mail.html === "string" ? mail.html : `<pre>${esc(mail.text ?? "")}</pre>`;
      // A link whose redirect goes to the shop's storefront domain (a discount code) cannot be opened offline: it is
      // followed through the portal, which plays the storefront. Every other link goes straight to the app.
      const clickUrls = [...new Set([...html.matchAll(/href="([^"]*\/email\/click\?t=[^"]+)"/g)].map((m) => m[1]!))];
      for (const raw of clickUrls) {
        const url = raw.replace(/&amp;/g, "&");
        const resolved = await d.links.resolve(url).catch(() => null);
        if (resolved?.storefrontHop) html = html.split(`href="${raw}"`).join(`href="${esc(`${d.portalOrigin}/inbox/follow?url=${encodeURIComponent(url)}`)}"`);
      }
      html = /<head[^>]*>/i.test(html) ? html.replace(/<head([^>]*)>/i, `<head$1><base target="_top">`) : `<base target="_top">${html}`;
      res
        .set({
          "Cache-Control": "no-store",
          "Content-Security-Policy":
            "sandbox allow-popups allow-popups-to-escape-sandbox allow-top-navigation-by-user-activation; default-src 'none'; img-src http: data:; style-src 'unsafe-inline'",
        })
        .type("html")
        .send(html);
    } catch (error) {
      next(error);
    }
  });

  app.get("/inbox/:id/raw", (req, res) => {
    const raw = d.inbox.raw(req.params.id!);
    if (raw === null) return res.status(404).type("text/plain").send("No such email.");
    res.type("text/plain; charset=utf-8").send(raw);
  });

  // ------------------------------------------------------------------------------------------------------------
  // Storefront (Shopify recovery links)

  app.get("/store/images/:name", (req, res) => {
    const name = (req.params.name ?? "").replace(/\.svg$/, "");
    const words = name.split("-").filter(Boolean);
    const initials =
      words
        .slice(0, 2)
        .map((w) => w[0]!.toUpperCase())
        .join("") || "?";
    const hue = [...name].reduce((h, c) => (h * 31 + c.charCodeAt(0)) % 360, 7);
    res
      .type("image/svg+xml")
      .set("Cache-Control", "max-age=86400")
      .send(
        `<svg xmlns="http://www.w3.org/2000/svg" width="128" height="128" viewBox="0 0 128 128"><rect width="128" height="128" rx="16" fill="hsl(${hue},45%,82%)"/><text x="64" y="76" font-family="Arial,sans-serif" font-size="40" font-weight="700" text-anchor="middle" fill="hsl(${hue},40%,30%)">${esc(initials)}</text></svg>`,
      );
  });

  // https://<shop>/discount/<code>?redirect=<path>: the storefront applies the code, then goes to the path.
  app.get("/store/discount/:code", (req, res) => {
    const redirect = typeof req.query.redirect === "string" ? req.query.redirect : "";
    if (!redirect.startsWith("/store/") || redirect.startsWith("//")) return res.status(400).type("text/plain").send("Unknown destination.");
    const target = new URL(redirect, d.portalOrigin);
    target.searchParams.set("discount", req.params.code!);
    res.redirect(302, target.toString());
  });

  const findCheckout = (req: Request): StoredCheckout | null => {
    // The recovery URL's segment is the cart token, as on live shops (docs/decisions/074); a checkout without a cart has
    // the older URL, whose segment is its checkout token.
    const token = req.params.token ?? "";
    const checkout = d.living.store.getCheckoutByCartToken(token) ?? d.living.store.getCheckoutByToken(token);
    if (!checkout || String(d.living.store.shop.id) !== req.params.shopId || checkout.recoveryKey !== req.query.key) return null;
    return checkout;
  };

  const checkoutPage = (res: Response, checkout: StoredCheckout, discountCode: string | null, action: string) => {
    const cur = checkout.presentmentCurrency;
    const totals = checkoutTotals(checkout);
    const discount = discountCode ? d.living.store.discounts.find((x) => x.code.toUpperCase() === discountCode.toUpperCase()) : undefined;
    const percentage = (discount?.input.customerGets as { value?: { percentage?: number } } | undefined)?.value?.percentage ?? 0;
    const off = Math.round(totals.subtotalPrice.presentment * percentage);
    const lines = checkout.lineItems
      .map(
        (li) =>
          `<tr><td style="width:64px">${li.image ? `<img src="${esc(li.image.url)}" width="48" height="48" alt="" style="border-radius:8px">` : ""}</td><td><strong>${esc(li.title)}</strong>${li.variantTitle ? `<div class="muted">${esc(li.variantTitle)}</div>` : ""}<div class="muted">Qty ${li.quantity}</div></td><td style="text-align:right">${esc(moneyText(li.discountedUnitPrice.presentment * li.quantity, cur))}</td></tr>`,
      )
      .join("");
    const who = checkout.customer ? [checkout.customer.firstName, checkout.customer.lastName].filter(Boolean).join(" ") : "";
    res
      .set("Cache-Control", "no-store")
      .type("html")
      .send(
        page(
          `Checkout · ${d.shop.name}`,
          `<main><div class="card"><h1>${esc(d.shop.name)} · Checkout</h1>
<p class="muted">Your cart was saved${who ? ` for ${esc(who)}` : ""}${checkout.email ? ` (${esc(checkout.email)})` : ""}. This page plays the store's checkout in the demo.</p>
<table><tbody>${lines}
<tr><td></td><td>Shipping</td><td style="text-align:right">${esc(moneyText(checkout.shippingPrice.presentment, cur))}</td></tr>
${discount && off > 0 ? `<tr><td></td><td>Discount <span class="badge ok">${esc(discount.code)}</span></td><td style="text-align:right">−${esc(moneyText(off, cur))}</td></tr>` : ""}
<tr><td></td><td class="total">Total</td><td class="total" style="text-align:right">${esc(moneyText(totals.totalPrice.presentment - off, cur))}</td></tr>
</tbody></table>
${discountCode && !discount ? `<p class="note">The code ${esc(discountCode)} is not known to the store.</p>` : ""}
<form method="post" action="${esc(action)}" style="margin-top:16px"><input type="hidden" name="intent" value="complete"><button type="submit">Complete purchase</button></form>
</div></main>`,
          { topbar },
        ),
      );
  };

  const donePage = (res: Response, title: string, message: string, status = 200) =>
    res
      .status(status)
      .set("Cache-Control", "no-store")
      .type("html")
      .send(
        page(
          title,
          `<main><div class="card"><h1>${esc(title)}</h1><p>${message}</p><p><a href="/">Back to the admin</a> · <a href="/inbox">Inbox</a></p></div></main>`,
          { topbar },
        ),
      );

  const recoverPaths = ["/store/:shopId/checkouts/ac/:token/recover", "/store/:shopId/checkouts/:token/recover"];
  app.get(recoverPaths, (req, res) => {
    const checkout = findCheckout(req);
    if (!checkout) return donePage(res, "Checkout not found", "This recovery link does not match a checkout of the demo store.", 404);
    if (checkout.completedAt)
      return donePage(res, "Order already placed", `This checkout was completed on ${esc(demoTime(checkout.completedAt))} (demo time). Nothing more to pay.`);
    const discount = typeof req.query.discount === "string" ? req.query.discount : null;
    checkoutPage(res, checkout, discount, req.originalUrl);
  });

  app.post(recoverPaths, (req, res) => {
    const checkout = findCheckout(req);
    if (!checkout) return donePage(res, "Checkout not found", "This recovery link does not match a checkout of the demo store.", 404);
    const discount = typeof req.query.discount === "string" ? req.query.discount : null;
    const completed = d.living.complete(checkout.id, now(), { discountCode: discount });
    if (!completed) return donePage(res, "Order already placed", "This checkout was already completed.");
    donePage(
      res,
      "Thank you for your order",
      `Order for checkout #${esc(completed.id)} is confirmed (${esc(moneyText(checkoutTotals(completed).totalPrice.presentment, completed.presentmentCurrency))}). The checkout now has <code>completedAt</code> set: Reclaim sees it on its next poll of the Admin API and credits the recovery.`,
    );
  });

  // ------------------------------------------------------------------------------------------------------------
  // Stripe recovery links

  app.get("/stripe/r/:token", (req, res) => {
    const session = d.stripe.byRecoveryToken(req.params.token ?? "");
    if (!session) return donePage(res, "Link not found", "This Stripe recovery link is not known to the demo.", 404);
    if (session.state === "recovered") return donePage(res, "Already paid", "This cart was already paid through its recovery link.");
    const lines = session.items
      .map(
        (i) =>
          `<tr><td><strong>${esc(i.description)}</strong><div class="muted">Qty ${i.quantity}</div></td><td style="text-align:right">${esc(moneyText(i.unitAmount * i.quantity, session.currency))}</td></tr>`,
      )
      .join("");
    res
      .set("Cache-Control", "no-store")
      .type("html")
      .send(
        page(
          `Pay ${d.shop.name}`,
          `<main><div class="card"><h1>Pay ${esc(d.shop.name)}</h1><p class="muted">${esc(session.email)} · This page plays Stripe Checkout's recovery page in the demo.</p>
<table><tbody>${lines}<tr><td class="total">Total</td><td class="total" style="text-align:right">${esc(moneyText(session.amountTotal, session.currency))}</td></tr></tbody></table>
<form method="post" action="${esc(req.originalUrl)}" style="margin-top:16px"><input type="hidden" name="intent" value="complete"><button type="submit">Pay ${esc(moneyText(session.amountTotal, session.currency))}</button></form></div></main>`,
          { topbar },
        ),
      );
  });

  app.post("/stripe/r/:token", (req, res) => {
    const paid = d.stripe.payRecovered(req.params.token ?? "", now());
    if (!paid) return donePage(res, "Already paid", "This recovery link was already used, or is not known to the demo.");
    donePage(
      res,
      "Payment received",
      `Thank you! Stripe now sends <code>checkout.session.completed</code> for the new session with <code>recovered_from</code> = ${esc(paid.original.id.slice(0, 24))}…, and Reclaim credits the recovery.`,
    );
  });

  return app;
}

/** Like Promise.all over `items`, with at most `limit` calls at once (the inbox asks the app about up to 200 links). */
async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}
