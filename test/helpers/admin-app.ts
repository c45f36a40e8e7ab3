import { setAbstractFetchFunc } from "@shopify/shopify-api/runtime";
import { loadApp } from "./app-server";
import { bearerRequest, offlineSession, OTHER_SHOP, signSessionToken, TEST_SHOP } from "./shopify";

/**
 * The embedded admin for route-level tests: the real Remix build, offline sessions stored for the given shops, and the
 * Shopify library's network refused. `data` and `post` call a route's loader or action the way the embedded app's own
 * fetches do (Authorization: Bearer <session token>, Remix `_data`).
 */
export async function startAdminApp(shops: string[] = [TEST_SHOP, OTHER_SHOP]) {
  const app = await loadApp();
  setAbstractFetchFunc(async () => {
    throw new Error("network disabled in tests");
  });
  const { db } = await import("~/db.server");
  const { sessionStorage } = await import("~/shopify.server");
  for (const shop of shops) await sessionStorage.storeSession(offlineSession(shop));

  const withData = (path: string, routeId: string) => {
    const url = new URL(path, "https://reclaim.test");
    url.searchParams.set("_data", routeId);
    return url.pathname + url.search;
  };
  const parse = async (response: Response) => ({
    status: response.status,
    body: response.headers.get("content-type")?.includes("json") ? await response.json() : await response.text(),
  });

  return {
    app,
    db,
    /** A loader's answer, as client-side navigation fetches it. */
    data: async (path: string, routeId: string, token = signSessionToken()) => parse(await app.handle(bearerRequest(withData(path, routeId), {}, token))),
    /** An action's answer to a form post. */
    post: async (path: string, routeId: string, form: Record<string, string>, token = signSessionToken()) =>
      parse(await app.handle(bearerRequest(withData(path, routeId), { method: "POST", body: new URLSearchParams(form) }, token))),
    close: () => app.close(),
  };
}
