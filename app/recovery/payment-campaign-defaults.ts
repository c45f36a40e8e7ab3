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
import type { Language } from "../i18n/locales";
import { localizedSteps, type DefaultStep } from "./campaign-defaults";
import type { CampaignKind } from "./payment-recovery";

const text = "margin:0 0 16px;font-size:16px;line-height:1.55;color:#374151;";
const heading = "margin:0 0 12px;font-size:24px;line-height:1.25;font-weight:700;color:#111827;";
const muted = "color:#6b7280;font-size:13px;";

/** The subscription's items and the amount due; `due` is the total's label, in the email's language. */
const items = (due: string) => `<table role="presentation" width="100%" cellpadding="0" cellspacing="0" style="border-collapse:collapse;margin:24px 0 8px;">
{%- for item in checkout.line_items %}
  <tr>
    <td style="padding:10px 0;border-bottom:1px solid #eceef1;font-size:15px;line-height:1.4;color:#111827;">{{ item.title }}{% if item.quantity > 1 %} × {{ item.quantity }}{% endif %}</td>
    <td align="right" style="padding:10px 0 10px 12px;border-bottom:1px solid #eceef1;font-size:15px;white-space:nowrap;color:#111827;">{{ item.line_price }}</td>
  </tr>
{%- endfor %}
  <tr>
    <td style="padding:14px 0;font-size:15px;color:#111827;"><strong>${due}</strong></td>
    <td align="right" style="padding:14px 0 14px 12px;font-size:15px;white-space:nowrap;color:#111827;"><strong>{{ checkout.total }}</strong></td>
  </tr>
</table>`;
const ITEMS = items("Amount due");

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

// ---------------------------------------------------------------------------------------------------------------
// The same campaigns in the other shipped languages (issue 19, docs/decisions/093): Japanese polite copy with
// full-width punctuation and the family name with 様 (お客様 otherwise); German with the formal "Sie".

export type PaymentDefaults = typeof PAYMENT_CAMPAIGN_DEFAULTS;
type Texts = readonly (readonly [subject: string, bodyTemplate: string])[];

const localized = (names: Record<keyof PaymentDefaults, string>, texts: Record<keyof PaymentDefaults, Texts>): PaymentDefaults => ({
  payment_action_required: {
    name: names.payment_action_required,
    steps: localizedSteps(PAYMENT_CAMPAIGN_DEFAULTS.payment_action_required.steps, texts.payment_action_required),
  },
  payment_failed: { name: names.payment_failed, steps: localizedSteps(PAYMENT_CAMPAIGN_DEFAULTS.payment_failed.steps, texts.payment_failed) },
});

const JA_GREETING = `{% if customer.last_name %}{{ customer.last_name }} 様{% else %}お客様{% endif %}`;
const JA_ITEMS = items("お支払い金額");
const JA_NEXT_TRY = `{% if payment.next_attempt_on %}<p style="${text}">{{ payment.next_attempt_on }}に、カードへのご請求を再度行います。それまでにカード情報を更新いただくと、サブスクリプションを途切れることなくご利用いただけます。</p>{% endif %}`;
const JA_FOOT = `<p style="${text}${muted}">このメールは、{{ shop.name }}でご利用中のサブスクリプションに関するお知らせです。ご不明な点は、このメールにご返信ください。</p>`;

const JA_UPDATE_1 = `<h1 style="${heading}">お支払いが完了しませんでした</h1>
<p style="${text}">${JA_GREETING}、{{ shop.name }}のサブスクリプションのお支払いで、カードへのご請求ができませんでした。引き続きご利用いただくため、お支払い情報の更新をお願いいたします。</p>
${JA_ITEMS}
${button("カード情報を更新する")}
${JA_NEXT_TRY}
${JA_FOOT}`;

const JA_UPDATE_2 = `<h1 style="${heading}">{{ shop.name }}のサブスクリプションのお支払いが未完了です</h1>
<p style="${text}">${JA_GREETING}、{% if payment.attempt_count > 1 %}カードへのご請求を{{ payment.attempt_count }}回試みましたが{% else %}カードへのご請求を試みましたが{% endif %}、まだお支払いが完了しておりません。</p>
${JA_ITEMS}
${button("カード情報を更新する")}
${JA_NEXT_TRY}
${JA_FOOT}`;

const JA_UPDATE_3 = `<h1 style="${heading}">最後のご案内：{{ shop.name }}のサブスクリプションについて</h1>
<p style="${text}">${JA_GREETING}、サブスクリプションのお支払いがまだ完了しておりません。お支払いを確認できない場合、サブスクリプションが一時停止またはキャンセルされることがあります。</p>
${JA_ITEMS}
${button("今すぐ支払う")}
${JA_FOOT}`;

const JA_CONFIRM_1 = `<h1 style="${heading}">お支払いの確認をお願いいたします</h1>
<p style="${text}">${JA_GREETING}、{{ shop.name }}のサブスクリプションのお支払いについて、ご利用のカード会社から確認が求められています。お手続きはすぐに完了します。</p>
${JA_ITEMS}
${button("お支払いを確認する")}
${JA_FOOT}`;

const JA_CONFIRM_2 = `<h1 style="${heading}">お支払いの確認をお待ちしております</h1>
<p style="${text}">${JA_GREETING}、{{ shop.name }}のサブスクリプションのお支払いには、まだご確認が必要です。ご確認いただくまで、お支払いは完了しません。</p>
${JA_ITEMS}
${button("お支払いを確認する")}
${JA_FOOT}`;

const DE_ITEMS = items("Fälliger Betrag");
const DE_NEXT_TRY = `{% if payment.next_attempt_on %}<p style="${text}">Wir versuchen am {{ payment.next_attempt_on }} erneut, Ihre Karte zu belasten. Wenn Sie sie vorher aktualisieren, läuft Ihr Abonnement ohne Unterbrechung weiter.</p>{% endif %}`;
const DE_FOOT = `<p style="${text}${muted}">Dies ist eine Mitteilung zu Ihrem bestehenden Abonnement bei {{ shop.name }}. Fragen? Antworten Sie einfach auf diese E-Mail.</p>`;

const DE_UPDATE_1 = `<h1 style="${heading}">{% if customer.first_name %}{{ customer.first_name }}, Ihre{% else %}Ihre{% endif %} Zahlung ist nicht durchgegangen</h1>
<p style="${text}">Wir konnten Ihre Karte für Ihr Abonnement bei {{ shop.name }} nicht belasten. Bitte aktualisieren Sie Ihre Zahlungsdaten, damit es weiterläuft.</p>
${DE_ITEMS}
${button("Karte aktualisieren")}
${DE_NEXT_TRY}
${DE_FOOT}`;

const DE_UPDATE_2 = `<h1 style="${heading}">Die Zahlung für Ihr Abonnement bei {{ shop.name }} ist noch offen</h1>
<p style="${text}">{% if payment.attempt_count > 1 %}Wir haben {{ payment.attempt_count }}-mal versucht, Ihre Karte zu belasten{% else %}Wir haben versucht, Ihre Karte zu belasten{% endif %}, aber die Zahlung ist noch nicht durchgegangen.</p>
${DE_ITEMS}
${button("Karte aktualisieren")}
${DE_NEXT_TRY}
${DE_FOOT}`;

const DE_UPDATE_3 = `<h1 style="${heading}">Letzte Erinnerung: Behalten Sie Ihr Abonnement bei {{ shop.name }}</h1>
<p style="${text}">Die Zahlung für Ihr Abonnement ist noch offen. Wenn sie nicht eingezogen werden kann, wird Ihr Abonnement möglicherweise pausiert oder gekündigt.</p>
${DE_ITEMS}
${button("Jetzt bezahlen")}
${DE_FOOT}`;

const DE_CONFIRM_1 = `<h1 style="${heading}">{% if customer.first_name %}{{ customer.first_name }}, bitte{% else %}Bitte{% endif %} bestätigen Sie Ihre Zahlung</h1>
<p style="${text}">Ihre Bank bittet Sie, die Zahlung für Ihr Abonnement bei {{ shop.name }} zu bestätigen. Das dauert nur einen Moment.</p>
${DE_ITEMS}
${button("Zahlung bestätigen")}
${DE_FOOT}`;

const DE_CONFIRM_2 = `<h1 style="${heading}">Ihre Zahlung wartet auf Ihre Bestätigung</h1>
<p style="${text}">Die Zahlung für Ihr Abonnement bei {{ shop.name }} muss noch von Ihnen bestätigt werden. Solange sie nicht bestätigt ist, kann sie nicht ausgeführt werden.</p>
${DE_ITEMS}
${button("Zahlung bestätigen")}
${DE_FOOT}`;

/** The payment campaigns in each shipped language (same timing; only the words differ). */
export const PAYMENT_CAMPAIGN_DEFAULTS_BY_LANGUAGE: Record<Language, PaymentDefaults> = {
  en: PAYMENT_CAMPAIGN_DEFAULTS,
  ja: localized(
    { payment_action_required: "お支払いの確認", payment_failed: "カード情報の更新" },
    {
      payment_action_required: [
        ["【{{ shop.name }}】お支払いの確認をお願いいたします", JA_CONFIRM_1],
        ["【{{ shop.name }}】再送：お支払いの確認が必要です", JA_CONFIRM_2],
      ],
      payment_failed: [
        ["【{{ shop.name }}】お支払いが完了しませんでした", JA_UPDATE_1],
        ["【{{ shop.name }}】カード情報の更新をお願いいたします", JA_UPDATE_2],
        ["【{{ shop.name }}】最後のご案内：サブスクリプションのお支払いについて", JA_UPDATE_3],
      ],
    },
  ),
  de: localized(
    { payment_action_required: "Zahlung bestätigen", payment_failed: "Karte aktualisieren" },
    {
      payment_action_required: [
        ["Bitte bestätigen Sie Ihre Zahlung bei {{ shop.name }}", DE_CONFIRM_1],
        ["Erinnerung: Ihre Zahlung bei {{ shop.name }} muss noch bestätigt werden", DE_CONFIRM_2],
      ],
      payment_failed: [
        ["Ihre Zahlung bei {{ shop.name }} ist nicht durchgegangen", DE_UPDATE_1],
        ["Bitte aktualisieren Sie Ihre Karte für {{ shop.name }}", DE_UPDATE_2],
        ["Letzte Erinnerung: Zahlung für Ihr Abonnement bei {{ shop.name }}", DE_UPDATE_3],
      ],
    },
  ),
};
