import type { LoaderFunctionArgs, MetaFunction } from "@remix-run/node";
import { json } from "@remix-run/node";
import { useLoaderData } from "@remix-run/react";
import { Banner, BlockStack, Card, Page, Text } from "@shopify/polaris";
import { useTranslation } from "react-i18next";
import { requireAdmin } from "../auth.server";
import { dateTime } from "../components/format";
import { PageError } from "../components/page-states";
import { pageTitle } from "../components/page-title";
import { db } from "../db.server";
import { loadSentEmail } from "../models/sent-email.server";

/**
 * "View this email": one recovery email exactly as it was rendered for the buyer (subject and HTML stored at hand-off),
 * for the shop's own merchant only. Its links are disabled, so looking at it never counts as a click or unsubscribes
 * the buyer; it is shown in a sandboxed frame (no scripts, no navigation of the admin). The page is in the admin's
 * language; the email is in the language it was sent in, named on the page.
 */
export const loader = async ({ request, params }: LoaderFunctionArgs) => {
  const { shop, t, locale } = await requireAdmin(request);
  const email = await loadSentEmail(db, shop.id, params.id ?? "", params.messageId ?? "");
  if (!email) throw new Response("Email not found", { status: 404 });
  return json({ email, locale, timezone: shop.timezone, title: t("recoveries:email.title", { position: email.position }) });
};

export const meta: MetaFunction<typeof loader> = ({ data }) => [{ title: pageTitle(data ? data.title : "Email") }];

export default function SentEmail() {
  const { email, locale, timezone, title } = useLoaderData<typeof loader>();
  const { t } = useTranslation("recoveries");
  const subtitle = email.sentAt
    ? email.toEmail
      ? t("email.sentOnTo", { at: dateTime(email.sentAt, locale, timezone), email: email.toEmail })
      : t("email.sentOn", { at: dateTime(email.sentAt, locale, timezone) })
    : email.toEmail
      ? t("email.handedOffTo", { email: email.toEmail })
      : t("email.handedOff");
  return (
    <Page backAction={{ content: t("email.back"), url: `/app/recoveries/${email.recoveryId}` }} title={title} subtitle={subtitle}>
      <BlockStack gap="400">
        <Card>
          <BlockStack gap="200">
            <Text as="h2" variant="headingMd">
              {t("email.subjectHeading")}
            </Text>
            <Text as="p">{email.subject}</Text>
            {email.language ? (
              <Text as="p" tone="subdued">
                {t("email.language", { language: t(`languageNames.${email.language}`) })}
              </Text>
            ) : null}
          </BlockStack>
        </Card>
        <Banner tone="info">{t("email.linksOff")}</Banner>
        <Card padding="0">
          <iframe title={title} sandbox="" srcDoc={email.html} style={{ width: "100%", height: 720, border: 0, display: "block" }} />
        </Card>
      </BlockStack>
    </Page>
  );
}

export function ErrorBoundary() {
  const { t } = useTranslation("recoveries");
  return <PageError title={t("email.errorTitle")} />;
}
