import { Session } from "@shopify/shopify-api";
import type { PrismaSessionStorage } from "@shopify/shopify-app-session-storage-prisma";
import { decryptSecret, encryptSecret, isEncrypted } from "./encryption.server";

/** Shopify tokens look like `shpat_…`, `shpua_…`; never like encryptSecret's `v2.<key id>.…` (or v1). */
const isSealedToken = (value: string) => isEncrypted(value);
type TokenColumn = "accessToken" | "refreshToken";
type Change = (token: string | undefined, sessionId: string, column: TokenColumn) => string | undefined;
/** Each token is bound to its session row and column (docs/decisions/079): copied into another shop's row, it does not open. */
const place = (sessionId: string, column: TokenColumn) => ({ model: "Session" as const, column, rowId: sessionId });
const seal: Change = (token, sessionId, column) => (token && !isSealedToken(token) ? encryptSecret(token, place(sessionId, column)) : token);
/** Rows written before tokens were encrypted still read (as they are); they are sealed the next time they are stored. */
export const openToken = <T extends string | null | undefined>(token: T, sessionId: string, column: TokenColumn): T =>
  token && isSealedToken(token) ? (decryptSecret(token, place(sessionId, column)) as T) : token;
const open: Change = (token, sessionId, column) => openToken(token, sessionId, column);

const withTokens = (session: Session, change: Change) =>
  new Session({
    ...session.toObject(),
    accessToken: change(session.accessToken, session.id, "accessToken"),
    refreshToken: change(session.refreshToken, session.id, "refreshToken"),
  });

/**
 * Shopify's Prisma session storage, with the access and refresh tokens encrypted at rest under ENCRYPTION_KEYS (the
 * same AES-256-GCM key ring as Stripe and SMTP secrets; `npm run keys:rotate` re-encrypts them). A copy of the
 * database alone no longer gives API access to every installed shop. The library sees plain tokens, as before.
 */
export class EncryptedSessionStorage {
  constructor(private readonly inner: PrismaSessionStorage<never>) {}

  isReady() {
    return this.inner.isReady();
  }

  storeSession(session: Session) {
    return this.inner.storeSession(withTokens(session, seal));
  }

  async loadSession(id: string) {
    const session = await this.inner.loadSession(id);
    return session ? withTokens(session, open) : undefined;
  }

  deleteSession(id: string) {
    return this.inner.deleteSession(id);
  }

  deleteSessions(ids: string[]) {
    return this.inner.deleteSessions(ids);
  }

  async findSessionsByShop(shop: string) {
    return (await this.inner.findSessionsByShop(shop)).map((session) => withTokens(session, open));
  }
}
