/** HTML for the demo portal's own pages (admin shell, inbox, checkout pages): plain templates, everything escaped. */

export function esc(value: unknown): string {
  return String(value ?? "")
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;")
    .replace(/'/g, "&#39;");
}

export function moneyText(minor: number, currency: string): string {
  const code = currency.toUpperCase();
  const digits = new Intl.NumberFormat("en", { style: "currency", currency: code }).resolvedOptions().maximumFractionDigits ?? 2;
  return new Intl.NumberFormat("en", { style: "currency", currency: code }).format(minor / 10 ** digits);
}

export function demoTime(iso: string | number, timeZone = "UTC"): string {
  return new Intl.DateTimeFormat("en", { dateStyle: "medium", timeStyle: "short", timeZone }).format(new Date(iso));
}

const STYLE = `
:root{color-scheme:light;--ink:#1a1a1a;--muted:#616161;--line:#e3e3e3;--bg:#f1f1f1;--card:#fff;--accent:#005bd3;--dark:#1a1a1a}
*{box-sizing:border-box}body{margin:0;font:14px/1.45 -apple-system,BlinkMacSystemFont,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;color:var(--ink);background:var(--bg)}
a{color:var(--accent)}main{max-width:960px;margin:24px auto;padding:0 16px}
.card{background:var(--card);border:1px solid var(--line);border-radius:12px;padding:16px 20px;margin-bottom:16px}
h1{font-size:20px;margin:0 0 12px}h2{font-size:16px;margin:0 0 8px}.muted{color:var(--muted)}
table{width:100%;border-collapse:collapse}th,td{text-align:left;padding:8px 6px;border-bottom:1px solid var(--line);vertical-align:top}th{font-weight:600;color:var(--muted);font-size:12px;text-transform:uppercase;letter-spacing:.04em}
.badge{display:inline-block;padding:1px 8px;border-radius:10px;font-size:12px;background:#e8e8e8}.badge.ok{background:#cdfee1;color:#0c5132}.badge.info{background:#e0f0ff;color:#00527c}.badge.warn{background:#fff1c7;color:#5e4200}
button,.button{display:inline-block;border:0;border-radius:8px;background:var(--dark);color:#fff;padding:10px 18px;font:inherit;font-weight:600;cursor:pointer;text-decoration:none}
button.secondary{background:#fff;color:var(--ink);border:1px solid var(--line)}
.topbar{background:#1a1a1a;color:#e3e3e3;padding:10px 16px;display:flex;gap:16px;align-items:center}.topbar a{color:#fff}
.row{display:flex;gap:12px;align-items:center;flex-wrap:wrap}.spacer{flex:1}
.total{font-size:18px;font-weight:700}.note{background:#fff8e6;border:1px solid #f5d48b;border-radius:8px;padding:8px 12px}
`;

export function page(title: string, body: string, o: { topbar?: string; head?: string } = {}): string {
  return `<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${esc(title)}</title><link rel="icon" href="data:,"><style>${STYLE}</style>${o.head ?? ""}</head><body>${o.topbar ?? ""}${body}</body></html>`;
}

export function demoTopbar(o: { adminUrl: string; inboxUrl: string; shopName: string }): string {
  return `<div class="topbar"><strong>Reclaim demo</strong><span class="muted">${esc(o.shopName)}</span><span class="spacer"></span><a href="${esc(o.adminUrl)}">Admin</a><a href="${esc(o.inboxUrl)}">Inbox</a></div>`;
}
