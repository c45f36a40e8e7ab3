import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { signLinkToken, verifyLinkToken } from "~/email/tokens";

const SECRET = "a-link-signing-secret-of-at-least-32-chars";

describe("signed link tokens", () => {
  it("round-trips the message id for its purpose only", () => {
    const token = signLinkToken("unsubscribe", "cmabc123", SECRET);
    expect(verifyLinkToken("unsubscribe", token, SECRET)).toBe("cmabc123");
    // A click token can't be used to unsubscribe someone, nor the other way round.
    expect(verifyLinkToken("click", token, SECRET)).toBeNull();
    expect(verifyLinkToken("unsubscribe", token, "another-secret-of-at-least-32-characters")).toBeNull();
  });

  it.each([null, "", ".", "cmabc123", "cmabc123.", ".abc", "cmabc123.AAAAAAAAAAAAAAAAAAAAAA", "a".repeat(300), "../etc.x"])("refuses %j", (token) => {
    expect(verifyLinkToken("unsubscribe", token, SECRET)).toBeNull();
  });

  it("property: changing any character of a valid token (or pointing it at another id) makes it invalid", () => {
    fc.assert(
      fc.property(
        fc.stringMatching(/^[a-z0-9]{8,30}$/),
        fc.stringMatching(/^[a-z0-9]{8,30}$/),
        fc.nat(),
        fc.constantFrom(..."ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_."),
        (id, otherId, at, replacement) => {
          const token = signLinkToken("click", id, SECRET);
          const i = at % token.length;
          const tampered = token.slice(0, i) + replacement + token.slice(i + 1);
          if (tampered !== token) expect(verifyLinkToken("click", tampered, SECRET)).toBeNull();
          if (otherId !== id) expect(verifyLinkToken("click", `${otherId}.${token.split(".")[1]}`, SECRET)).toBeNull();
        },
      ),
      { numRuns: 500 },
    );
  });
});
