import { Session } from "@shopify/shopify-api";
import type { PrismaSessionStorage } from "@shopify/shopify-app-session-storage-prisma";
import { decryptSecret, encryptSecret, isEncrypted } from "./encryption.server";

/** Shopify tokens look like `shpat_…`, `shpua_…`; never like encryptSecret's `v1.<key id>.…`. */
const isSealedToken = (value: string) => isEncrypted(value);
const seal = (token: string | undefined) => (token && !isSealedToken(token) ? encryptSecret(token) : token);
/** Rows written before tokens were encrypted still read (as they are); they are sealed the next time they are stored. */
export const openToken = <T extends string | null | undefined>(token: T): T => (token && isSealedToken(token) ? (decryptSecret(token) as T) : token);
const open = (token: string | undefined) => openToken(token);

const withTokens = (session: Session, change: (token: string | undefined) => string | undefined) =>
  new Session({ ...session.toObject(), accessToken: change(session.accessToken), refreshToken: change(session.refreshToken) });

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
