import { GraphqlQueryError, HttpRequestError, HttpResponseError } from "@shopify/shopify-api";
import { describe, expect, it } from "vitest";
import { adminFailure } from "~/email/shopify-admin.server";

// Whether a failed Admin call (discount code, unsubscribe mirror) is worth retrying is decided from the library's
// error classes, whose `name` is always "Error".
describe("classifying Admin API failures", () => {
  it("a validation error from GraphQL is permanent", () => {
    const error = new GraphqlQueryError({
      message: "Field 'x' doesn't exist",
      response: {},
      body: { errors: { graphQLErrors: [{ extensions: { code: "undefinedField" } }] } },
    } as never);
    expect(error.name).toBe("Error");
    expect(adminFailure(error)).toMatchObject({ ok: false, permanent: true });
  });

  it("THROTTLED is retried", () => {
    const error = new GraphqlQueryError({
      message: "Throttled",
      response: {},
      body: { errors: { graphQLErrors: [{ extensions: { code: "THROTTLED" } }] } },
    } as never);
    expect(adminFailure(error)).toMatchObject({ permanent: false });
  });

  it("a 403 is permanent, a 503 and a network error are retried", () => {
    const http = (code: number) => new HttpResponseError({ message: `HTTP ${code}`, code, statusText: "", body: {}, headers: {} } as never);
    expect(adminFailure(http(403))).toMatchObject({ permanent: true });
    expect(adminFailure(http(503))).toMatchObject({ permanent: false });
    expect(adminFailure(new HttpRequestError("socket hang up"))).toMatchObject({ permanent: false });
  });
});
