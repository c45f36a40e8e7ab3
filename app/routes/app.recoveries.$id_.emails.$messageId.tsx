import type { LoaderFunctionArgs, MetaFunction } from "@remix-run/node";
import { json } from "@remix-run/node";
import { useLoaderData } from "@remix-run/react";
import { Banner, BlockStack, Card, Page, Text } from "@shopify/polaris";
import { requireAdmin } from "../auth.server";
import { dateTime } from "../components/format";
import { PageError } from "../components/page-states";
import { pageTitle } from "../components/page-title";
import { db } from "../db.server";
import { loadSentEmail } from "../models/sent-email.server";

/**
 * "View this email": one recovery email exactly as it was rendered for the buyer (subject and HTML stored at hand-off),
 * for the shop's own merchant only. Its links are disabled, so looking at it never counts as a click or unsubscribes
 * the buyer; it is shown in a sandboxed frame (no scripts, no navigation of the admin).
 */
export const loader = async ({ request, params }: LoaderFunctionArgs) => {
  const { shop } = await requireAdmin(request);
  const email = await loadSentEmail(db, shop.id, params.id ?? "", params.messageId ?? "");
  if (!email) throw new Response("Email not found", { status: 404 });
  return json({ email, locale: shop.locale, timezone: shop.timezone });
};

export const meta: MetaFunction<typeof loader> = ({ data }) => [{ title: pageTitle(data ? `Email ${data.email.position} as sent` : "Email") }];

export default function SentEmail() {
  const { email, locale, timezone } = useLoaderData<typeof loader>();
  return (
    <Page
      backAction={{ content: "Recovery", url: `/app/recoveries/${email.recoveryId}` }}
      title={`Email ${email.position} as sent`}
      subtitle={`${email.sentAt ? `Sent on ${dateTime(email.sentAt, locale, timezone)}` : "Handed to the mail server; delivery not confirmed"}${email.toEmail ? ` to ${email.toEmail}` : ""}`}
    >
      <BlockStack gap="400">
        <Card>
          <BlockStack gap="200">
            <Text as="h2" variant="headingMd">
              Subject
            </Text>
            <Text as="p">{email.subject}</Text>
          </BlockStack>
        </Card>
        <Banner tone="info">Links are turned off here, so viewing the email never counts as a click or unsubscribes the buyer.</Banner>
        <Card padding="0">
          <iframe
            title={`Email ${email.position} as sent`}
            sandbox=""
            srcDoc={email.html}
            style={{ width: "100%", height: 720, border: 0, display: "block" }}
          />
        </Card>
      </BlockStack>
    </Page>
  );
}

export function ErrorBoundary() {
  return <PageError title="Email" />;
}
