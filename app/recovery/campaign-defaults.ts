/**
 * The campaign every shop gets at install: three emails at 1 h, 24 h and 72 h after abandonment (the timing the
 * market evidence favours), the last with a 10% single-use code on Shopify checkouts.
 * Templates are Liquid bodies; app/email/render.ts wraps them in a responsive layout whose footer (unsubscribe link,
 * postal address) cannot be edited away. Brand kit (Settings › Brand): buttons take `shop.accent_color`, the layout
 * puts the logo on top; items without an image get no image box (the column is left out when no item has one).
 */
import type { IncentiveType } from "./incentive";

export interface DefaultStep {
  position: number;
  delayMinutes: number;
  subject: string;
  bodyTemplate: string;
  incentiveType: IncentiveType | null;
  incentiveValue: number | null;
  incentiveExpiresDays: number | null;
}

const text = "margin:0 0 16px;font-size:16px;line-height:1.55;color:#374151;";
const heading = "margin:0 0 12px;font-size:24px;line-height:1.25;font-weight:700;color:#111827;";
const muted = "color:#6b7280;font-size:13px;";

const ITEMS = `<table role="presentation" width="100%" cellpadding="0" cellspacing="0" style="border-collapse:collapse;margin:24px 0 8px;">
{%- for item in checkout.line_items %}
  <tr>
    {%- if checkout.has_images %}
    <td width="76" class="item-image" style="padding:12px 12px 12px 0;border-bottom:1px solid #eceef1;vertical-align:top;">
      {%- if item.image_url %}<img src="{{ item.image_url }}" width="64" height="64" alt="{{ item.title }}" style="display:block;width:64px;height:64px;border-radius:8px;object-fit:cover;border:0;">{% endif -%}
    </td>
    {%- endif %}
    <td style="padding:12px 0;border-bottom:1px solid #eceef1;vertical-align:top;font-size:15px;line-height:1.4;color:#111827;">
      <strong>{{ item.title }}</strong>
      {%- if item.variant_title %}<br><span style="${muted}">{{ item.variant_title }}</span>{% endif %}
      <br><span style="${muted}">Qty {{ item.quantity }} × {{ item.price }}</span>
    </td>
    <td align="right" style="padding:12px 0 12px 12px;border-bottom:1px solid #eceef1;vertical-align:top;font-size:15px;white-space:nowrap;color:#111827;">{{ item.line_price }}</td>
  </tr>
{%- endfor %}
  <tr>
    {%- if checkout.has_images %}<td></td>{% endif %}
    <td style="padding:14px 0;font-size:15px;color:#111827;"><strong>Total</strong></td>
    <td align="right" style="padding:14px 0 14px 12px;font-size:15px;white-space:nowrap;color:#111827;"><strong>{{ checkout.total }}</strong></td>
  </tr>
</table>`;

const button = (label: string) => `<table role="presentation" cellpadding="0" cellspacing="0" style="margin:16px 0 24px;">
  <tr>
    <td style="border-radius:8px;background:{{ shop.accent_color }};">
      <a href="{{ recovery_url }}" style="display:inline-block;padding:14px 28px;font-size:16px;font-weight:600;line-height:1;color:#ffffff;text-decoration:none;border-radius:8px;">${label}</a>
    </td>
  </tr>
</table>`;

const STEP_1 = `<h1 style="${heading}">{% if customer.first_name %}{{ customer.first_name }}, you{% else %}You{% endif %} left something behind</h1>
<p style="${text}">Your cart at {{ shop.name }} is saved, just as you left it. Pick up where you stopped — it only takes a moment.</p>
${ITEMS}
${button("Return to your cart")}
<p style="${text}${muted}">Questions about sizing, shipping or payment? Reply to this email and we'll help.</p>`;

const STEP_2 = `<h1 style="${heading}">Still thinking it over?</h1>
<p style="${text}">Hi {{ customer.first_name | default: "there" }}, the items in your cart are still waiting for you at {{ shop.name }} — but we can't hold them forever.</p>
${ITEMS}
${button("Complete your order")}
<p style="${text}${muted}">If something went wrong at checkout, reply and let us know.</p>`;

const STEP_3 = `{%- if incentive -%}
<h1 style="${heading}">Here's {{ incentive.description }} off your cart</h1>
<p style="${text}">Hi {{ customer.first_name | default: "there" }}, we'd love for you to finish your order at {{ shop.name }}. {% if checkout.source == "stripe" %}Enter your code at checkout after you use the button below.{% else %}Your code is applied automatically when you use the button below.{% endif %}</p>
<table role="presentation" width="100%" cellpadding="0" cellspacing="0" style="margin:8px 0 8px;">
  <tr>
    <td align="center" style="padding:18px;border:2px dashed #d1d5db;border-radius:10px;background:#f9fafb;">
      <div style="${muted}text-transform:uppercase;letter-spacing:.08em;">Your code</div>
      <div style="font-size:24px;font-weight:700;letter-spacing:.12em;color:#111827;margin-top:6px;">{{ incentive.code }}</div>
      {%- if incentive.expires_on %}<div style="${muted}margin-top:6px;">Valid once, until {{ incentive.expires_on }}</div>{% endif %}
    </td>
  </tr>
</table>
{%- else -%}
<h1 style="${heading}">Last reminder: your cart is waiting</h1>
<p style="${text}">Hi {{ customer.first_name | default: "there" }}, this is the last time we'll remind you about your cart at {{ shop.name }}.</p>
{%- endif %}
${ITEMS}
${button("Complete your order")}`;

export const DEFAULT_CAMPAIGN_NAME = "Abandoned checkout (default)";

export const DEFAULT_STEPS: readonly DefaultStep[] = [
  {
    position: 1,
    delayMinutes: 60,
    subject: "{% if customer.first_name %}{{ customer.first_name }}, you{% else %}You{% endif %} left something in your cart",
    bodyTemplate: STEP_1,
    incentiveType: null,
    incentiveValue: null,
    incentiveExpiresDays: null,
  },
  {
    position: 2,
    delayMinutes: 24 * 60,
    subject: "Your cart at {{ shop.name }} is still waiting",
    bodyTemplate: STEP_2,
    incentiveType: null,
    incentiveValue: null,
    incentiveExpiresDays: null,
  },
  {
    position: 3,
    delayMinutes: 72 * 60,
    subject: "{% if incentive %}{{ incentive.description }} off your cart at {{ shop.name }}{% else %}Last reminder: your cart at {{ shop.name }}{% endif %}",
    bodyTemplate: STEP_3,
    incentiveType: "percentage",
    incentiveValue: 10,
    incentiveExpiresDays: 7,
  },
];
