import { describe, expect, it } from "vitest";
import { offlineSession, TEST_SHOP } from "../helpers/shopify";

describe("Shopify sessions at rest", () => {
  it("stores the access and refresh tokens encrypted, and gives the library the plain tokens back", async () => {
    const { db } = await import("~/db.server");
    const { sessionStorage } = await import("~/shopify.server");
    const session = offlineSession(TEST_SHOP);
    session.refreshToken = "shprt_session_encryption_refresh_token";
    await sessionStorage.storeSession(session);

    const row = await db.session.findUniqueOrThrow({ where: { id: session.id } });
    expect(row.accessToken).toMatch(/^v2\./);
    expect(row.refreshToken).toMatch(/^v2\./);
    expect(JSON.stringify(row)).not.toContain(session.accessToken!);
    expect(JSON.stringify(row)).not.toContain("shprt_session_encryption_refresh_token");

    const loaded = await sessionStorage.loadSession(session.id);
    expect(loaded).toMatchObject({ id: session.id, shop: TEST_SHOP, accessToken: session.accessToken, refreshToken: "shprt_session_encryption_refresh_token" });
    expect((await sessionStorage.findSessionsByShop(TEST_SHOP)).map((s) => s.accessToken)).toEqual([session.accessToken]);
  });

  it("still reads a session stored in clear before tokens were encrypted, and seals it when it is stored again", async () => {
    const { db } = await import("~/db.server");
    const { sessionStorage } = await import("~/shopify.server");
    await db.session.create({
      data: {
        id: "offline_legacy.myshopify.com",
        shop: "legacy.myshopify.com",
        state: "",
        isOnline: false,
        scope: "read_orders",
        accessToken: "shpat_legacy_plain_token",
      },
    });
    const loaded = await sessionStorage.loadSession("offline_legacy.myshopify.com");
    expect(loaded?.accessToken).toBe("shpat_legacy_plain_token");
    await sessionStorage.storeSession(loaded!);
    expect((await db.session.findUniqueOrThrow({ where: { id: "offline_legacy.myshopify.com" } })).accessToken).toMatch(/^v2\./);
    expect((await sessionStorage.loadSession("offline_legacy.myshopify.com"))?.accessToken).toBe("shpat_legacy_plain_token");
  });
});
