import { getOperationAST, getVariableValues, parse, validate } from "graphql";
import { describe, expect, it } from "vitest";
import { CUSTOMER_BY_EMAIL, CUSTOMER_EMAIL_UNSUBSCRIBE, unsubscribeConsentInput } from "~/email/shopify-admin.server";
import { DISCOUNT_CODE_BASIC_CREATE, discountCodeBasicInput } from "~/recovery/incentive";
import { SHOPIFY_EMAIL_STATE_QUERY } from "~/sources/shopify/shopify-email-state.server";
import { loadAdminSchema } from "../../app/demo/fakes/shopify-admin/schema";

/** Validates a document and its variables against the real Admin API 2026-10 schema (offline introspection). */
function check(query: string, variables: Record<string, unknown>) {
  const schema = loadAdminSchema();
  const document = parse(query);
  const errors = validate(schema, document).map((e) => e.message);
  const operation = getOperationAST(document);
  const coerced = operation ? getVariableValues(schema, operation.variableDefinitions ?? [], variables) : { errors: [] };
  return [...errors, ...("errors" in coerced && coerced.errors ? coerced.errors.map((e) => e.message) : [])];
}

describe("Admin GraphQL documents the pipeline sends (validated against the 2026-10 schema)", () => {
  const now = new Date("2026-11-20T10:00:00Z");

  it("discountCodeBasicCreate with a percentage and with a fixed amount", () => {
    for (const incentive of [
      { type: "percentage" as const, value: 10, expiresDays: 7 },
      { type: "fixed_amount" as const, value: 500, expiresDays: 3 },
    ]) {
      const variables = { basicCodeDiscount: discountCodeBasicInput({ code: "BACK-ABCD2345", incentive, shopCurrency: "EUR", checkoutName: "#1001", now }) };
      expect(check(DISCOUNT_CODE_BASIC_CREATE, variables)).toEqual([]);
    }
  });

  it("customerEmailMarketingConsentUpdate and customerByIdentifier", () => {
    expect(check(CUSTOMER_EMAIL_UNSUBSCRIBE, { input: unsubscribeConsentInput("gid://shopify/Customer/1", now) })).toEqual([]);
    expect(check(CUSTOMER_BY_EMAIL, { identifier: { emailAddress: "a@b.test" } })).toEqual([]);
  });

  it("abandonmentByAbandonedCheckoutId: Shopify's own abandoned-checkout email state (docs/decisions/075)", () => {
    expect(check(SHOPIFY_EMAIL_STATE_QUERY, { abandonedCheckoutId: "gid://shopify/AbandonedCheckout/1001" })).toEqual([]);
    // The fields read are the enum and the timestamp the send job relies on.
    const abandonment = loadAdminSchema().getType("Abandonment") as import("graphql").GraphQLObjectType;
    expect(String(abandonment.getFields().emailState!.type)).toBe("AbandonmentEmailState");
    expect(String(abandonment.getFields().emailSentAt!.type)).toBe("DateTime");
    const states = (loadAdminSchema().getType("AbandonmentEmailState") as import("graphql").GraphQLEnumType).getValues().map((v) => v.name);
    expect(states.sort()).toEqual(["NOT_SENT", "SCHEDULED", "SENT"]);
  });

  it("the check itself catches a wrong input (deprecated-free, typed)", () => {
    expect(check(DISCOUNT_CODE_BASIC_CREATE, { basicCodeDiscount: { code: 1, context: { all: "EVERYONE" } } }).length).toBeGreaterThan(0);
  });
});
