/** The document title of an admin page ("Recoveries · Reclaim"): what a browser tab and a screen reader announce. */
export const pageTitle = (page: string) => `${page} · Reclaim`;
