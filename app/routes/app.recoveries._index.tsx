import type { LoaderFunctionArgs, MetaFunction } from "@remix-run/node";
import { json } from "@remix-run/node";
import { Link, useLoaderData, useNavigate, useSearchParams } from "@remix-run/react";
import {
  Banner,
  BlockStack,
  Box,
  Card,
  ChoiceList,
  EmptyState,
  Filters,
  IndexTable,
  InlineStack,
  Page,
  Select,
  Text,
  TextField,
  type BadgeProps,
} from "@shopify/polaris";
import { memo, Suspense, useCallback, useDeferredValue, useEffect, useMemo, useRef, useState, type ComponentProps } from "react";
import { useTranslation } from "react-i18next";
import { z } from "zod";
import { requireAdmin } from "../auth.server";
import { KindBadge, LabelledBadge, SourceBadge } from "../components/badges";
import { dateTime, money } from "../components/format";
import { pageTitle } from "../components/page-title";
import { RECOVERY_STATUS_TONE, recoveryStatusLabel } from "../components/labels";
import { reasonInWords } from "../recovery/timeline";
import { NavigationProgress, PageError } from "../components/page-states";
import { db } from "../db.server";
import { shopHasRecoveries } from "../models/dashboard.server";
import { listRecoveries } from "../models/recovery-list.server";
import { toMinorUnits } from "../recovery/money";

// Messages are catalogue keys (recoveries:list.errors.*), translated by the loader into the admin's language.
const dateParam = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}$/, "list.errors.dateFormat")
  .refine((v) => !Number.isNaN(Date.parse(v)), "list.errors.notADate");
const amountParam = z.string().regex(/^\d+(\.\d{1,3})?$/, "list.errors.amount");
const filterSchema = z.object({
  source: z.enum(["shopify", "stripe"]).optional(),
  kind: z.enum(["cart", "payment"]).optional(),
  status: z.enum(["open", "contacting", "recovered", "purchased", "lost", "superseded", "suppressed"]).optional(),
  from: dateParam.optional(),
  to: dateParam.optional(),
  min: amountParam.optional(),
  max: amountParam.optional(),
  hasEmail: z.enum(["yes", "no"]).optional(),
  hasConsent: z.enum(["yes", "no"]).optional(),
  q: z.string().max(254).optional(),
});
type FilterKey = keyof z.infer<typeof filterSchema>;
const STATUS_FILTERS = ["open", "contacting", "recovered", "purchased", "lost", "superseded", "suppressed"] as const;

export const meta: MetaFunction<typeof loader> = ({ data }) => [{ title: pageTitle(data ? data.title : "Recoveries") }];

export const loader = async ({ request }: LoaderFunctionArgs) => {
  const { shop, t, locale, language } = await requireAdmin(request);
  const url = new URL(request.url);
  const raw = Object.fromEntries([...url.searchParams].filter(([k, v]) => k in filterSchema.shape && v !== ""));
  // Each bad parameter is reported next to its field and ignored; the others still apply.
  const errors: Partial<Record<FilterKey, string>> = {};
  const filters: z.infer<typeof filterSchema> = {};
  for (const [key, value] of Object.entries(raw) as [FilterKey, string][]) {
    const parsed = filterSchema.shape[key].safeParse(value);
    if (parsed.success) (filters as Record<string, unknown>)[key] = parsed.data;
    else {
      const message = parsed.error.issues[0]?.message;
      errors[key] = message?.startsWith("list.errors.") ? t(`recoveries:${message}`) : t("recoveries:list.errors.invalid");
    }
  }
  const page = await listRecoveries(db, {
    shopId: shop.id,
    consentPolicy: shop.consentPolicy,
    language,
    after: url.searchParams.get("after"),
    before: url.searchParams.get("before"),
    filters: {
      source: filters.source,
      kind: filters.kind,
      status: filters.status,
      from: filters.from ? new Date(`${filters.from}T00:00:00Z`) : undefined,
      to: filters.to ? new Date(new Date(`${filters.to}T00:00:00Z`).getTime() + 86_400_000) : undefined,
      minValueMinor: filters.min ? toMinorUnits(filters.min, shop.currency) : undefined,
      maxValueMinor: filters.max ? toMinorUnits(filters.max, shop.currency) : undefined,
      hasEmail: filters.hasEmail ? filters.hasEmail === "yes" : undefined,
      hasConsent: filters.hasConsent ? filters.hasConsent === "yes" : undefined,
      search: filters.q,
    },
  });
  const anyAtAll = page.rows.length > 0 || Object.keys(filters).length > 0 ? true : await shopHasRecoveries(db, shop.id);
  return json({ ...page, errors, title: t("recoveries:list.title"), locale, timezone: shop.timezone, currency: shop.currency, anyAtAll });
};

const STATUS_TONE: Record<string, BadgeProps["tone"]> = RECOVERY_STATUS_TONE;
/** The applied-filter pills' words (catalogue keys): "Email: with email", "Consent: opted in". */
const FILTER_LABEL: Record<string, string> = { hasEmail: "list.applied.email", hasConsent: "list.applied.consent" };
const FILTER_VALUE_LABEL: Record<string, Record<string, string>> = {
  hasEmail: { yes: "list.applied.withEmail", no: "list.applied.withoutEmail" },
  hasConsent: { yes: "list.applied.optedIn", no: "list.applied.notOptedIn" },
};

const NO_FILTERS: ComponentProps<typeof Filters>["filters"] = [];
const noop = () => {};

/**
 * The search box on its own: a key press re-renders this field only, not the filter pills or the page (re-rendering
 * Polaris' Filters bar per key press cost ~200 ms at 4× CPU slowdown; bench/web-vitals.ts, docs/decisions/084). What
 * was typed is kept here and sent to the URL after a short pause; a URL change made elsewhere (Clear all, Back) is
 * shown, but the echo of our own submission never overwrites newer typing.
 */
const SearchBox = memo(function SearchBox({ urlQuery, clearedAt, onSearch }: { urlQuery: string; clearedAt: number; onSearch: (q: string) => void }) {
  const { t } = useTranslation("recoveries");
  const [query, setQuery] = useState(urlQuery);
  const submitted = useRef(urlQuery);
  useEffect(() => {
    if (urlQuery === submitted.current) return;
    submitted.current = urlQuery;
    setQuery(urlQuery);
  }, [urlQuery]);
  useEffect(() => {
    if (clearedAt === 0) return;
    submitted.current = "";
    setQuery("");
  }, [clearedAt]);
  useEffect(() => {
    if (query === submitted.current) return;
    const t = setTimeout(() => {
      submitted.current = query;
      onSearch(query);
    }, 350);
    return () => clearTimeout(t);
  }, [query, onSearch]);
  return (
    <Filters
      hideFilters
      filters={NO_FILTERS}
      queryValue={query}
      queryPlaceholder={t("list.searchPlaceholder")}
      onQueryChange={setQuery}
      onQueryClear={() => {
        setQuery("");
        submitted.current = "";
        onSearch("");
      }}
      onClearAll={noop}
    />
  );
});

/**
 * Source, Kind (carts or failed subscription payments, docs/decisions/087) and Status as native selects beside the search box: the filters merchants use most, one click away. They
 * were Polaris Filters popovers, and opening or closing that popover was the slowest interaction on the page (576 ms INP
 * at 4× CPU slowdown, bench/web-vitals.ts); a native select opens without rendering anything. Memoised on its values;
 * the options are built once per language, not per render.
 */
const QuickFilters = memo(function QuickFilters({
  source,
  kind,
  status,
  onChange,
}: {
  source: string;
  kind: string;
  status: string;
  onChange: (changes: Record<string, string | null>) => void;
}) {
  const { t } = useTranslation("recoveries");
  const options = useMemo(() => {
    const all = { label: t("list.all"), value: "" };
    return {
      source: [all, { label: "Shopify", value: "shopify" }, { label: "Stripe", value: "stripe" }],
      kind: [all, { label: t("list.carts"), value: "cart" }, { label: t("list.failedPayments"), value: "payment" }],
      status: [all, ...STATUS_FILTERS.map((s) => ({ label: recoveryStatusLabel(s, undefined, t), value: s }))],
    };
  }, [t]);
  return (
    <Box paddingInline="300" paddingBlockStart="200">
      <InlineStack gap="300" wrap>
        <Select labelInline label={t("list.source")} options={options.source} value={source} onChange={(v) => onChange({ source: v || null })} />
        <Select labelInline label={t("list.kind")} options={options.kind} value={kind} onChange={(v) => onChange({ kind: v || null })} />
        <Select labelInline label={t("list.status")} options={options.status} value={status} onChange={(v) => onChange({ status: v || null })} />
      </InlineStack>
    </Box>
  );
});

/** The filter pills, re-rendered only when the filters or what is typed in their popovers change. */
const FilterPills = memo(function FilterPills(props: Pick<ComponentProps<typeof Filters>, "filters" | "appliedFilters" | "onClearAll">) {
  return <Filters hideQueryField onQueryChange={noop} onQueryClear={noop} {...props} />;
});

export default function Recoveries() {
  const { rows: loadedRows, nextCursor, previousCursor, errors, title, locale, timezone, anyAtAll, currency } = useLoaderData<typeof loader>();
  const { t } = useTranslation("recoveries");
  const [params] = useSearchParams();
  const navigate = useNavigate();
  const [clearedAt, setClearedAt] = useState(0);
  const [min, setMin] = useState(params.get("min") ?? "");
  const [max, setMax] = useState(params.get("max") ?? "");
  const [from, setFrom] = useState(params.get("from") ?? "");
  const [to, setTo] = useState(params.get("to") ?? "");

  // Callbacks handed to memoised children read the current parameters through a ref, so they stay the same function.
  const paramsRef = useRef(params);
  paramsRef.current = params;
  const go = useCallback(
    (changes: Record<string, string | null>) => {
      const next = new URLSearchParams(paramsRef.current);
      next.delete("after");
      next.delete("before");
      for (const [k, v] of Object.entries(changes)) {
        if (v === null || v === "") next.delete(k);
        else next.set(k, v);
      }
      navigate(`?${next.toString()}`, { replace: true });
    },
    [navigate],
  );
  const search = useCallback((q: string) => go({ q }), [go]);

  const choice = (key: FilterKey, title: string, choices: { label: string; value: string }[]) => ({
    key,
    label: title,
    filter: (
      <ChoiceList
        title={title}
        titleHidden
        choices={choices}
        selected={params.get(key) ? [params.get(key)!] : []}
        onChange={(v) => go({ [key]: v[0] ?? null })}
      />
    ),
    pinned: true,
  });

  // Rebuilt only when what they show changes (the page re-renders on every navigation state change, e.g. opening a row).
  const filters = useMemo(
    () => [
      choice("hasEmail", t("list.hasEmail"), [
        { label: t("list.withEmail"), value: "yes" },
        { label: t("list.withoutEmail"), value: "no" },
      ]),
      choice("hasConsent", t("list.hasConsent"), [
        { label: t("list.optedIn"), value: "yes" },
        { label: t("list.notOptedIn"), value: "no" },
      ]),
      {
        key: "value",
        label: t("list.value"),
        filter: (
          <BlockStack gap="200">
            <TextField label={t("list.minimum", { currency })} value={min} onChange={setMin} onBlur={() => go({ min })} autoComplete="off" error={errors.min} />
            <TextField label={t("list.maximum", { currency })} value={max} onChange={setMax} onBlur={() => go({ max })} autoComplete="off" error={errors.max} />
          </BlockStack>
        ),
      },
      {
        key: "dates",
        label: t("list.abandonedBetween"),
        filter: (
          <BlockStack gap="200">
            <TextField
              label={t("list.from")}
              type="date"
              value={from}
              onChange={(v) => {
                setFrom(v);
                go({ from: v });
              }}
              autoComplete="off"
              error={errors.from}
            />
            <TextField
              label={t("list.to")}
              type="date"
              value={to}
              onChange={(v) => {
                setTo(v);
                go({ to: v });
              }}
              autoComplete="off"
              error={errors.to}
            />
          </BlockStack>
        ),
      },
    ],
    // `choice` is a plain function of params and go, both listed.
    // eslint-disable-next-line react-hooks/exhaustive-deps
    [params, errors, min, max, from, to, currency, go, t],
  );
  const applied = useMemo(
    () => [
      ...(["hasEmail", "hasConsent"] as const)
        .filter((k) => params.get(k))
        .map((k) => {
          const value = params.get(k)!;
          const words = FILTER_VALUE_LABEL[k]?.[value];
          return { key: k, label: t(FILTER_LABEL[k]!, { value: words ? t(words) : value }), onRemove: () => go({ [k]: null }) };
        }),
      ...(params.get("min") || params.get("max")
        ? [
            {
              key: "value",
              label: t("list.applied.value", { min: params.get("min") ?? "0", max: params.get("max") ?? "∞" }),
              onRemove: () => {
                setMin("");
                setMax("");
                go({ min: null, max: null });
              },
            },
          ]
        : []),
      ...(params.get("from") || params.get("to")
        ? [
            {
              key: "dates",
              label: t("list.applied.dates", { from: params.get("from") ?? "…", to: params.get("to") ?? "…" }),
              onRemove: () => {
                setFrom("");
                setTo("");
                go({ from: null, to: null });
              },
            },
          ]
        : []),
    ],
    [params, go, t],
  );
  const clearAll = useCallback(() => {
    setClearedAt((n) => n + 1);
    setMin("");
    setMax("");
    setFrom("");
    setTo("");
    navigate("?", { replace: true });
  }, [navigate]);
  const errorList = Object.entries(errors).filter(([, m]) => m);
  // The table is rebuilt only when its data changes, not on every keystroke in the search box: re-rendering 25 Polaris
  // rows per key press took ~800 ms at 4× CPU slowdown (bench/web-vitals.ts, INP). New rows render at low priority
  // (useDeferredValue): a search result arriving while the merchant types does not hold up the next key press.
  const rows = useDeferredValue(loadedRows);
  const table = useMemo(
    () => (
      <IndexTable
        resourceName={{ singular: t("list.resourceSingular"), plural: t("list.resourcePlural") }}
        itemCount={rows.length}
        selectable={false}
        emptyState={
          <Box padding="400">
            <Text as="p" tone="subdued">
              {t("list.noMatch")}
            </Text>
          </Box>
        }
        headings={[
          { title: t("list.columns.cart") },
          { title: t("list.columns.source") },
          { title: t("list.columns.email") },
          { title: t("list.columns.consent") },
          { title: t("list.columns.status") },
          { title: t("list.columns.value"), alignment: "end" },
          { title: t("list.columns.abandoned") },
          { title: t("list.columns.emailsSent"), alignment: "end" },
          { title: t("list.columns.nextEmail") },
        ]}
        pagination={{
          hasNext: Boolean(nextCursor),
          hasPrevious: Boolean(previousCursor),
          onNext: () => {
            const n = new URLSearchParams(paramsRef.current);
            n.delete("before");
            n.set("after", nextCursor!);
            navigate(`?${n}`);
          },
          onPrevious: () => {
            const n = new URLSearchParams(paramsRef.current);
            n.delete("after");
            n.set("before", previousCursor!);
            navigate(`?${n}`);
          },
        }}
      >
        {rows.map((r, index) => (
          <IndexTable.Row id={r.id} key={r.id} position={index} onClick={() => navigate(`/app/recoveries/${r.id}`)}>
            {/* A real link: reachable with Tab, opened with Enter, announced as a link (the row's click is a mouse shortcut). */}
            <IndexTable.Cell>
              <Link to={`/app/recoveries/${r.id}`} className="reclaim-row-link" onClick={(e) => e.stopPropagation()}>
                <Text as="span" fontWeight="semibold">
                  {r.title}
                </Text>
              </Link>
            </IndexTable.Cell>
            <IndexTable.Cell>
              <InlineStack gap="100" wrap={false}>
                <SourceBadge source={r.source} />
                {r.kind === "payment" ? <KindBadge kind={r.kind} /> : null}
              </InlineStack>
            </IndexTable.Cell>
            <IndexTable.Cell>
              {r.email ?? (
                <Text as="span" tone="subdued">
                  {t("list.noEmail")}
                </Text>
              )}
            </IndexTable.Cell>
            <IndexTable.Cell>
              {r.kind === "payment"
                ? t("list.consentPaymentNotice")
                : r.consent === "opt_in"
                  ? t("list.consentOptedIn")
                  : r.consent === "opt_out"
                    ? t("list.consentOptedOut")
                    : t("list.consentUnknown")}
            </IndexTable.Cell>
            <IndexTable.Cell>
              <InlineStack gap="100" wrap={false}>
                <LabelledBadge what={t("badges.status")} tone={STATUS_TONE[r.status]}>
                  {recoveryStatusLabel(r.status, r.kind, t)}
                </LabelledBadge>
                {r.pixelOnly ? (
                  <LabelledBadge what={t("badges.note")} tone="attention">
                    {t("badges.unconfirmed")}
                  </LabelledBadge>
                ) : null}
              </InlineStack>
            </IndexTable.Cell>
            <IndexTable.Cell>
              <InlineStack align="end">
                <Text as="span" numeric>
                  {money(r.totalMinor, r.currency, locale)}
                </Text>
              </InlineStack>
            </IndexTable.Cell>
            <IndexTable.Cell>{dateTime(r.abandonedAt, locale, timezone)}</IndexTable.Cell>
            <IndexTable.Cell>
              <InlineStack align="end">
                <Text as="span" numeric>
                  {r.emailsSent}
                </Text>
              </InlineStack>
            </IndexTable.Cell>
            <IndexTable.Cell>
              {r.wontBeEmailed ? (
                <Text as="span" tone="caution">
                  {t("list.wontBeEmailed", { reason: reasonInWords(r.wontBeEmailed, t) })}
                </Text>
              ) : r.nextEmailAt ? (
                dateTime(r.nextEmailAt, locale, timezone)
              ) : (
                <Text as="span" tone="subdued">
                  {t("list.nonePlanned")}
                </Text>
              )}
            </IndexTable.Cell>
          </IndexTable.Row>
        ))}
      </IndexTable>
    ),
    // eslint-disable-next-line react-hooks/exhaustive-deps
    [rows, nextCursor, previousCursor, locale, timezone, t],
  );

  if (!anyAtAll) {
    return (
      <Page title={title}>
        <Card>
          <EmptyState heading={t("list.emptyHeading")} image="" action={{ content: t("list.emptyAction"), url: "/app" }}>
            <p>{t("list.emptyBody")}</p>
          </EmptyState>
        </Card>
      </Page>
    );
  }

  return (
    <Page title={title} fullWidth>
      <NavigationProgress />
      <BlockStack gap="300">
        {errorList.length > 0 ? (
          <Banner tone="warning" title={t("list.filtersIgnored")}>
            <ul>
              {errorList.map(([k, m]) => (
                <li key={k}>
                  {k}: {m}
                </li>
              ))}
            </ul>
          </Banner>
        ) : null}
        <Card padding="0">
          <QuickFilters source={params.get("source") ?? ""} kind={params.get("kind") ?? ""} status={params.get("status") ?? ""} onChange={go} />
          {/* Hydration units of their own (issue 21, INP): React hydrates each Suspense boundary after the rest of the
              page, so a merchant who picks Source while the page is still hydrating waits for the quick filters only, not
              for the search box, Polaris' Filters and fifty rows of table measured in layout effects. Nothing inside
              suspends; after hydration these are no-ops. */}
          <Suspense fallback={null}>
            <SearchBox urlQuery={params.get("q") ?? ""} clearedAt={clearedAt} onSearch={search} />
            <FilterPills filters={filters} appliedFilters={applied} onClearAll={clearAll} />
          </Suspense>
          <Suspense fallback={null}>{table}</Suspense>
        </Card>
      </BlockStack>
    </Page>
  );
}

export function ErrorBoundary() {
  const { t } = useTranslation("recoveries");
  return <PageError title={t("list.title")} />;
}
