import { Form, useNavigation } from "@remix-run/react";
import { Banner, BlockStack, Button, Layout } from "@shopify/polaris";
import { useTranslation } from "react-i18next";
import type { HealthIssue } from "../recovery/health";

/**
 * The Overview's health strip: one Polaris banner per problem that keeps recovery emails from going out (or sends
 * them twice), each with its action. Nothing is shown when all is well. The issues come in the admin's language
 * (`localizeHealthIssues` in the loader).
 */
export function HealthStrip({ issues }: { issues: HealthIssue[] }) {
  const navigation = useNavigation();
  const { t } = useTranslation("overview");
  if (issues.length === 0) return null;
  return (
    <Layout.Section>
      <section aria-label={t("health.region")}>
        <BlockStack gap="300">
          {issues.map((issue) => (
            <Banner
              key={issue.key}
              tone={issue.tone}
              title={issue.title}
              action={"url" in issue.action ? { content: issue.action.content, url: issue.action.url } : undefined}
            >
              <BlockStack gap="200">
                <p>{issue.body}</p>
                {"intent" in issue.action ? (
                  <Form method="post">
                    <input type="hidden" name="intent" value={issue.action.intent} />
                    <Button submit loading={navigation.state !== "idle" && navigation.formData?.get("intent") === issue.action.intent}>
                      {issue.action.content}
                    </Button>
                  </Form>
                ) : null}
              </BlockStack>
            </Banner>
          ))}
        </BlockStack>
      </section>
    </Layout.Section>
  );
}
