/**
 * The two campaigns a Stripe connection gets when the merchant turns payment recovery on (docs/decisions/087):
 * - "Confirm your payment" (invoice.payment_action_required): at once, then a reminder 12 h later. A first payment that
 *   needs 3-D Secure expires after 23 h (the subscription becomes incomplete_expired), so both land inside that day.
 * - "Update your card" (invoice.payment_failed): at once, then 3 and 7 days later, between the automatic retries of
 *   Stripe's recommended schedule (Smart Retries, or the custom default of retries 3, 5 and 7 days after the failure),
 *   so the card is updated before the next try. Each email says when Stripe tries again (`payment.next_attempt_on`).
 * Templates are Liquid like the cart campaign's (app/recovery/campaign-defaults.ts); the amount due is `checkout.total`
 * and the subscription's items `checkout.line_items`; `recovery_url` leads to Stripe's hosted invoice page.
 */
import type { DefaultStep } from "./campaign-defaults";
import type { CampaignKind } from "./payment-recovery";

const text = "margin:0 0 16px;font-size:16px;line-height:1.55;color:#374151;";
const heading = "margin:0 0 12px;font-size:24px;line-height:1.25;font-weight:700;color:#111827;";
const muted = "color:#6b7280;font-size:13px;";

const ITEMS = `<table role="presentation" width="100%" cellpadding="0" cellspacing="0" style="border-collapse:collapse;margin:24px 0 8px;">
{%- for item in checkout.line_items %}
  <tr>
    <td style="padding:10px 0;border-bottom:1px solid #eceef1;font-size:15px;line-height:1.4;color:#111827;">{{ item.title }}{% if item.quantity > 1 %} × {{ item.quantity }}{% endif %}</td>
    <td align="right" style="padding:10px 0 10px 12px;border-bottom:1px solid #eceef1;font-size:15px;white-space:nowrap;color:#111827;">{{ item.line_price }}</td>
  </tr>
{%- endfor %}
  <tr>
    <td style="padding:14px 0;font-size:15px;color:#111827;"><strong>Amount due</strong></td>
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

const NEXT_TRY = `{% if payment.next_attempt_on %}<p style="${text}">We'll try your card again on {{ payment.next_attempt_on }}. Updating it before then keeps your subscription running without a gap.</p>{% endif %}`;
const FOOT = `<p style="${text}${muted}">This is a notice about your existing subscription with {{ shop.name }}. Questions? Reply to this email.</p>`;

const UPDATE_1 = `<h1 style="${heading}">{% if customer.first_name %}{{ customer.first_name }}, your{% else %}Your{% endif %} payment didn't go through</h1>
<p style="${text}">We couldn't charge your card for your {{ shop.name }} subscription. Please update your payment details so it keeps running.</p>
${ITEMS}
${button("Update your card")}
${NEXT_TRY}
${FOOT}`;

const UPDATE_2 = `<h1 style="${heading}">Your {{ shop.name }} subscription payment is still due</h1>
<p style="${text}">{% if payment.attempt_count > 1 %}We've tried your card {{ payment.attempt_count }} times{% else %}We tried your card{% endif %} and the payment still hasn't gone through.</p>
${ITEMS}
${button("Update your card")}
${NEXT_TRY}
${FOOT}`;

const UPDATE_3 = `<h1 style="${heading}">Last reminder: keep your {{ shop.name }} subscription</h1>
<p style="${text}">Your subscription payment is still outstanding. If it can't be collected, your subscription may be paused or canceled.</p>
${ITEMS}
${button("Pay now")}
${FOOT}`;

const CONFIRM_1 = `<h1 style="${heading}">{% if customer.first_name %}{{ customer.first_name }}, please{% else %}Please{% endif %} confirm your payment</h1>
<p style="${text}">Your bank asks you to confirm your {{ shop.name }} subscription payment. It only takes a moment.</p>
${ITEMS}
${button("Confirm your payment")}
${FOOT}`;

const CONFIRM_2 = `<h1 style="${heading}">Your payment is waiting for your confirmation</h1>
<p style="${text}">Your {{ shop.name }} subscription payment still needs your confirmation. Until it's confirmed, the payment can't go through.</p>
${ITEMS}
${button("Confirm your payment")}
${FOOT}`;

const step = (position: number, delayMinutes: number, subject: string, bodyTemplate: string): DefaultStep => ({
  position,
  delayMinutes,
  subject,
  bodyTemplate,
  incentiveType: null,
  incentiveValue: null,
  incentiveExpiresDays: null,
});

export const PAYMENT_CAMPAIGN_DEFAULTS: Record<Exclude<CampaignKind, "cart">, { name: string; steps: DefaultStep[] }> = {
  payment_action_required: {
    name: "Confirm your payment",
    steps: [
      step(1, 0, "Please confirm your {{ shop.name }} payment", CONFIRM_1),
      step(2, 12 * 60, "Reminder: your {{ shop.name }} payment needs your confirmation", CONFIRM_2),
    ],
  },
  payment_failed: {
    name: "Update your card",
    steps: [
      step(1, 0, "Your {{ shop.name }} payment didn't go through", UPDATE_1),
      step(2, 3 * 24 * 60, "Please update your card for {{ shop.name }}", UPDATE_2),
      step(3, 7 * 24 * 60, "Last reminder: your {{ shop.name }} subscription payment", UPDATE_3),
    ],
  },
};
