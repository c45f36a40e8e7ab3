/**
 * Every message catalogue, imported statically so the server, the browser bundle and the tests read the same files.
 * One namespace per area of the app; a key lives in the namespace of the page or email that shows it.
 */
import deCampaigns from "./catalogues/de/campaigns.json";
import deCommon from "./catalogues/de/common.json";
import deEmails from "./catalogues/de/emails.json";
import deOverview from "./catalogues/de/overview.json";
import deIntegrations from "./catalogues/de/integrations.json";
import deRecoveries from "./catalogues/de/recoveries.json";
import deSettings from "./catalogues/de/settings.json";
import enCampaigns from "./catalogues/en/campaigns.json";
import enCommon from "./catalogues/en/common.json";
import enEmails from "./catalogues/en/emails.json";
import enOverview from "./catalogues/en/overview.json";
import enIntegrations from "./catalogues/en/integrations.json";
import enRecoveries from "./catalogues/en/recoveries.json";
import enSettings from "./catalogues/en/settings.json";
import jaCampaigns from "./catalogues/ja/campaigns.json";
import jaCommon from "./catalogues/ja/common.json";
import jaEmails from "./catalogues/ja/emails.json";
import jaOverview from "./catalogues/ja/overview.json";
import jaIntegrations from "./catalogues/ja/integrations.json";
import jaRecoveries from "./catalogues/ja/recoveries.json";
import jaSettings from "./catalogues/ja/settings.json";
import type { Language } from "./locales";

export const NAMESPACES = ["common", "overview", "recoveries", "campaigns", "settings", "integrations", "emails"] as const;
export type Namespace = (typeof NAMESPACES)[number];

export type Catalogue = { [key: string]: string | Catalogue };

export const CATALOGUES: Record<Language, Record<Namespace, Catalogue>> = {
  en: {
    common: enCommon,
    overview: enOverview,
    recoveries: enRecoveries,
    campaigns: enCampaigns,
    settings: enSettings,
    integrations: enIntegrations,
    emails: enEmails,
  },
  ja: {
    common: jaCommon,
    overview: jaOverview,
    recoveries: jaRecoveries,
    campaigns: jaCampaigns,
    settings: jaSettings,
    integrations: jaIntegrations,
    emails: jaEmails,
  },
  de: {
    common: deCommon,
    overview: deOverview,
    recoveries: deRecoveries,
    campaigns: deCampaigns,
    settings: deSettings,
    integrations: deIntegrations,
    emails: deEmails,
  },
};
