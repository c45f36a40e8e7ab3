// Issue 19: the demo admin switches the admin language, as a staff member whose Shopify admin is in Japanese or German
// would see Reclaim: the app's frame opens with Shopify's `locale` parameter, and the choice is kept while the demo runs.
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createPortal, type PortalDeps } from "../../app/demo/portal";

let server: Server;
let origin: string;

beforeAll(async () => {
  server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  origin = `http://127.0.0.1:${port}`;
  // Only what the admin shell's page reads; the simulators, inbox and links are not needed for it.
  const deps = {
    portalOrigin: origin,
    appOrigin: "http://127.0.0.1:1",
    allowedHosts: [`127.0.0.1:${port}`],
    shop: { domain: "reclaim-demo.myshopify.com", name: "Reclaim Demo" },
    apiKey: "demo-key",
    apiSecret: "demo-secret",
    clock: { now: () => Date.parse("2026-12-07T12:00:00Z"), factor: 1 },
    refreshMs: 5000,
  } as unknown as PortalDeps;
  server.on("request", createPortal(deps));
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

const frameLocale = async (query: string) => {
  const html = await (await fetch(`${origin}/${query}`)).text();
  const src = /<iframe id="app-frame"[^>]*src="([^"]+)"/.exec(html)?.[1]?.replace(/&amp;/g, "&");
  const selected = /<option value="(\w+)"[^>]* selected>/.exec(html)?.[1];
  return { locale: new URL(src!).searchParams.get("locale"), selected, html };
};

describe("the demo admin's language switch", () => {
  it("opens the app in English, then in the language chosen, and keeps it; a language Reclaim does not ship is ignored", async () => {
    const first = await frameLocale("");
    expect(first).toMatchObject({ locale: "en", selected: "en" });
    for (const name of ["English", "日本語", "Deutsch"]) expect(first.html).toContain(`>${name}</option>`);
    expect(await frameLocale("?locale=ja")).toMatchObject({ locale: "ja", selected: "ja" });
    expect(await frameLocale("?path=/app/recoveries")).toMatchObject({ locale: "ja", selected: "ja" });
    expect(await frameLocale("?locale=xx")).toMatchObject({ locale: "ja" });
    expect(await frameLocale("?locale=de")).toMatchObject({ locale: "de", selected: "de" });
  });
});
