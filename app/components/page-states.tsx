import { useNavigation, useRouteError, isRouteErrorResponse } from "@remix-run/react";
import { Banner, BlockStack, Card, Layout, Page, ProgressBar, SkeletonBodyText, SkeletonDisplayText } from "@shopify/polaris";
import { boundary } from "@shopify/shopify-app-remix/server";
import type { ReactNode } from "react";
import { useTranslation } from "react-i18next";

/** A thin progress bar while a page's loader runs after a navigation (the first load is rendered by the server). */
export function NavigationProgress() {
  const navigation = useNavigation();
  const { t } = useTranslation("common");
  if (navigation.state === "idle") return null;
  return (
    <div style={{ position: "fixed", top: 0, left: 0, right: 0, zIndex: 1000 }} aria-label={t("pageStates.loading")}>
      <ProgressBar progress={70} size="small" />
    </div>
  );
}

/** Skeleton shown in place of a page body while loading. */
export function PageSkeleton() {
  return (
    <Card>
      <BlockStack gap="300">
        <SkeletonDisplayText size="small" />
        <SkeletonBodyText lines={4} />
      </BlockStack>
    </Card>
  );
}

/**
 * A page's error state. Shopify's auth responses (redirects, 401) must pass through `boundary.error`; everything else is
 * shown as a banner that says what happened, without internals. `title` is the page's name, already translated.
 */
export function PageError({ title }: { title: string }): ReactNode {
  const error = useRouteError();
  const { t } = useTranslation("common");
  if (isRouteErrorResponse(error) && error.status === 404) {
    return (
      <Page title={title}>
        <Banner tone="warning" title={t("pageStates.notFoundTitle")}>
          <p>{t("pageStates.notFoundBody")}</p>
        </Banner>
      </Page>
    );
  }
  if (isRouteErrorResponse(error) && error.status >= 400 && error.status < 500 && error.status !== 401) {
    return (
      <Page title={title}>
        <Banner tone="warning" title={t("pageStates.badRequestTitle")}>
          <p>{typeof error.data === "string" ? error.data : t("pageStates.badRequestBody")}</p>
        </Banner>
      </Page>
    );
  }
  if (isRouteErrorResponse(error) || error instanceof Response) return boundary.error(error);
  return (
    <Page title={title}>
      <Layout>
        <Layout.Section>
          <Banner tone="critical" title={t("pageStates.errorTitle")}>
            <p>{t("pageStates.errorBody")}</p>
          </Banner>
        </Layout.Section>
      </Layout>
    </Page>
  );
}
