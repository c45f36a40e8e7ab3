/**
 * Serves the real app (its production build, mode development) the way the demo's admin needs it, without changing the
 * app: the App Bridge script URL (Shopify's CDN, unreachable offline) points at the demo's stand-in, the Inter font
 * stylesheet (same CDN) at an empty local one, and the admin's origin is added to the frame-ancestors the library sends
 * (Shopify's admin is already in it). Requests are authenticated by the app exactly as in production.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { Readable } from "node:stream";
import { fileURLToPath } from "node:url";
import { createReadableStreamFromReadable, createRequestHandler, type ServerBuild } from "@remix-run/node";
import express, { type Request as ExpressRequest, type Response as ExpressResponse } from "express";
import { refuseOversizedBodies } from "../../server/body-limit";
import { loopbackOnly } from "./loopback";

export const APP_BRIDGE_CDN = "https://cdn.shopify.com/shopifycloud/app-bridge.js";
export const INTER_FONT_CDN = "https://cdn.shopify.com/static/fonts/inter/v4/styles.css";
export const STAND_IN_PATH = "/__demo/app-bridge.js";
const FONT_PATH = "/__demo/fonts.css";

const here = path.dirname(fileURLToPath(import.meta.url));

/** The HTML as the demo serves it: the two CDN URLs replaced by local ones. */
export function rewriteHtml(html: string): string {
  return html.split(APP_BRIDGE_CDN).join(STAND_IN_PATH).split(INTER_FONT_CDN).join(FONT_PATH);
}

/** Adds the demo admin's origin to a `frame-ancestors` directive, keeping Shopify's. */
export function allowAdminFraming(csp: string, adminOrigin: string): string {
  return csp.replace(/frame-ancestors\s/, `frame-ancestors ${adminOrigin} `);
}

export function createAppHandler(o: { buildDir: string; build: ServerBuild; appOrigin: string; adminOrigin: string; allowedHosts: string[] }) {
  const standIn = readFileSync(path.join(here, "browser/app-bridge-stand-in.js"), "utf8").replace("__ADMIN_ORIGIN__", o.adminOrigin);
  const remix = createRequestHandler(o.build, "development");
  const app = express();
  app.disable("x-powered-by");
  app.use(loopbackOnly(o.allowedHosts));
  app.use(refuseOversizedBodies());
  app.get(STAND_IN_PATH, (_req, res) => {
    res.type("text/javascript").set("Cache-Control", "no-store").send(standIn);
  });
  app.get(FONT_PATH, (_req, res) => {
    res
      .type("text/css")
      .set("Cache-Control", "max-age=3600")
      .send("/* Inter comes from Shopify's CDN, which the offline demo does not reach: Polaris falls back to system fonts. */\n");
  });
  const client = path.join(o.buildDir, "client");
  app.use("/assets", express.static(path.join(client, "assets"), { immutable: true, maxAge: "1y" }));
  app.use(express.static(client, { maxAge: "1h" }));
  app.all("*", (req, res, next) => {
    handle(req, res).catch(next);
  });

  async function handle(req: ExpressRequest, res: ExpressResponse) {
    const controller = new AbortController();
    res.on("close", () => {
      if (!res.writableFinished) controller.abort();
    });
    const headers = new Headers();
    for (let i = 0; i < req.rawHeaders.length; i += 2) headers.append(req.rawHeaders[i]!, req.rawHeaders[i + 1]!);
    const method = req.method.toUpperCase();
    const request = new Request(new URL(req.originalUrl, o.appOrigin), {
      method,
      headers,
      signal: controller.signal,
      ...(method === "GET" || method === "HEAD" ? {} : { body: createReadableStreamFromReadable(req), duplex: "half" }),
    } as RequestInit);
    const response = await remix(request);
    res.status(response.status);
    response.headers.forEach((value, key) => {
      if (key === "set-cookie") return;
      if (key === "link") value = value.split(APP_BRIDGE_CDN).join(STAND_IN_PATH);
      if (key === "content-security-policy") value = allowAdminFraming(value, o.adminOrigin);
      res.setHeader(key, value);
    });
    const cookies = response.headers.getSetCookie();
    if (cookies.length) res.setHeader("set-cookie", cookies);
    if (!response.body || method === "HEAD") {
      res.end();
      return;
    }
    if ((response.headers.get("content-type") ?? "").includes("text/html")) {
      const html = rewriteHtml(await response.text());
      res.removeHeader("content-length");
      res.end(html);
      return;
    }
    Readable.fromWeb(response.body as import("node:stream/web").ReadableStream).pipe(res);
  }

  return app;
}
