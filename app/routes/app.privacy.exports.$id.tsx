import type { LoaderFunctionArgs } from "@remix-run/node";
import { requireAdmin } from "../auth.server";
import { db } from "../db.server";
import { loadExport } from "../privacy/requests.server";

/**
 * GET /app/privacy/exports/<id>: a customer data request's export, as a JSON file to save. Only for the shop it
 * belongs to: any other id (another shop's, an erasure, an export already deleted) is a 404.
 */
export const loader = async ({ request, params }: LoaderFunctionArgs) => {
  const { shop, t } = await requireAdmin(request);
  const file = await loadExport(db, shop.id, params.id ?? "");
  if (!file) throw new Response(t("integrations:privacy.download.notFound"), { status: 404 });
  return new Response(file.json, {
    headers: {
      "Content-Type": "application/json; charset=utf-8",
      "Content-Disposition": `attachment; filename="${file.fileName}"`,
      // Personal data: never kept by a browser or proxy cache.
      "Cache-Control": "no-store",
    },
  });
};
