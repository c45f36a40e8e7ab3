/**
 * The campaign every shop gets at install: three emails at 1 h, 24 h and 72 h after abandonment (the timing the
 * market evidence favours), the last with a 10% single-use code on Shopify checkouts.
 * Templates are Liquid bodies; app/email/render.ts wraps them in a responsive layout whose footer (unsubscribe link,
 * postal address) cannot be edited away. Brand kit (Settings › Brand): buttons take `shop.accent_color`, the layout
 * puts the logo on top; items without an image get no image box (the column is left out when no item has one).
 */
import { LANGUAGES, type Language } from "../i18n/locales";
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

/** The items table; `qty` and `total` are its two words, in the email's language. */
const items = (
  qty: string,
  total: string,
) => `<table role="presentation" width="100%" cellpadding="0" cellspacing="0" style="border-collapse:collapse;margin:24px 0 8px;">
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
      <br><span style="${muted}">${qty} {{ item.quantity }} × {{ item.price }}</span>
    </td>
    <td align="right" style="padding:12px 0 12px 12px;border-bottom:1px solid #eceef1;vertical-align:top;font-size:15px;white-space:nowrap;color:#111827;">{{ item.line_price }}</td>
  </tr>
{%- endfor %}
  <tr>
    {%- if checkout.has_images %}<td></td>{% endif %}
    <td style="padding:14px 0;font-size:15px;color:#111827;"><strong>${total}</strong></td>
    <td align="right" style="padding:14px 0 14px 12px;font-size:15px;white-space:nowrap;color:#111827;"><strong>{{ checkout.total }}</strong></td>
  </tr>
</table>`;
const ITEMS = items("Qty", "Total");

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

// ---------------------------------------------------------------------------------------------------------------
// The same campaign in the other shipped languages (issue 19, docs/decisions/093). Japanese: polite (です・ます) copy,
// full-width punctuation, the family name with 様 when known (お客様 otherwise). German: formal "Sie".

/** Japanese greeting: the family name with 様, or お客様. */
const JA_GREETING = `{% if customer.last_name %}{{ customer.last_name }} 様{% else %}お客様{% endif %}`;
const JA_ITEMS = items("数量", "合計");

const JA_STEP_1 = `<h1 style="${heading}">お買い物かごに商品が残っています</h1>
<p style="${text}">${JA_GREETING}、{{ shop.name }}のお買い物かごは、そのままの状態で保存されています。お手続きの続きは、すぐに完了します。</p>
${JA_ITEMS}
${button("お買い物かごに戻る")}
<p style="${text}${muted}">サイズ・配送・お支払いについてご不明な点がございましたら、このメールにご返信ください。</p>`;

const JA_STEP_2 = `<h1 style="${heading}">ご検討中でしょうか？</h1>
<p style="${text}">${JA_GREETING}、{{ shop.name }}のお買い物かごの商品は、まだご用意しております。ただし、いつまでもお取り置きすることはできません。</p>
${JA_ITEMS}
${button("ご注文手続きへ進む")}
<p style="${text}${muted}">お手続き中に問題がございましたら、このメールにご返信ください。</p>`;

const JA_STEP_3 = `{%- if incentive -%}
<h1 style="${heading}">{{ incentive.description }}オフのクーポンをご用意しました</h1>
<p style="${text}">${JA_GREETING}、{{ shop.name }}でのご注文をぜひ完了してください。{% if checkout.source == "stripe" %}下のボタンからお進みいただき、お支払い画面でクーポンコードをご入力ください。{% else %}下のボタンからお進みいただくと、クーポンコードが自動で適用されます。{% endif %}</p>
<table role="presentation" width="100%" cellpadding="0" cellspacing="0" style="margin:8px 0 8px;">
  <tr>
    <td align="center" style="padding:18px;border:2px dashed #d1d5db;border-radius:10px;background:#f9fafb;">
      <div style="${muted}letter-spacing:.08em;">クーポンコード</div>
      <div style="font-size:24px;font-weight:700;letter-spacing:.12em;color:#111827;margin-top:6px;">{{ incentive.code }}</div>
      {%- if incentive.expires_on %}<div style="${muted}margin-top:6px;">{{ incentive.expires_on }}まで、1回限り有効です</div>{% endif %}
    </td>
  </tr>
</table>
{%- else -%}
<h1 style="${heading}">最後のご案内：お買い物かごに商品が残っています</h1>
<p style="${text}">${JA_GREETING}、{{ shop.name }}のお買い物かごについてのご案内は、今回が最後となります。</p>
{%- endif %}
${JA_ITEMS}
${button("ご注文手続きへ進む")}`;

/** German greeting: "Hallo <first name>", or "Guten Tag". */
const DE_GREETING = `{% if customer.first_name %}Hallo {{ customer.first_name }}{% else %}Guten Tag{% endif %}`;
const DE_ITEMS = items("Menge", "Gesamt");

const DE_STEP_1 = `<h1 style="${heading}">{% if customer.first_name %}{{ customer.first_name }}, Sie{% else %}Sie{% endif %} haben etwas vergessen</h1>
<p style="${text}">Ihr Warenkorb bei {{ shop.name }} ist gespeichert – genau so, wie Sie ihn verlassen haben. Machen Sie dort weiter, wo Sie aufgehört haben; es dauert nur einen Moment.</p>
${DE_ITEMS}
${button("Zurück zum Warenkorb")}
<p style="${text}${muted}">Fragen zu Größe, Versand oder Zahlung? Antworten Sie einfach auf diese E-Mail – wir helfen Ihnen gern.</p>`;

const DE_STEP_2 = `<h1 style="${heading}">Noch unentschlossen?</h1>
<p style="${text}">${DE_GREETING}, die Artikel in Ihrem Warenkorb bei {{ shop.name }} warten noch auf Sie – aber wir können sie nicht unbegrenzt für Sie reservieren.</p>
${DE_ITEMS}
${button("Bestellung abschließen")}
<p style="${text}${muted}">Falls beim Bezahlen etwas schiefgelaufen ist, antworten Sie uns einfach auf diese E-Mail.</p>`;

const DE_STEP_3 = `{%- if incentive -%}
<h1 style="${heading}">{{ incentive.description }} Rabatt auf Ihren Warenkorb</h1>
<p style="${text}">${DE_GREETING}, wir würden uns freuen, wenn Sie Ihre Bestellung bei {{ shop.name }} abschließen. {% if checkout.source == "stripe" %}Geben Sie Ihren Code an der Kasse ein, nachdem Sie die Schaltfläche unten verwendet haben.{% else %}Ihr Code wird automatisch angewendet, wenn Sie die Schaltfläche unten verwenden.{% endif %}</p>
<table role="presentation" width="100%" cellpadding="0" cellspacing="0" style="margin:8px 0 8px;">
  <tr>
    <td align="center" style="padding:18px;border:2px dashed #d1d5db;border-radius:10px;background:#f9fafb;">
      <div style="${muted}text-transform:uppercase;letter-spacing:.08em;">Ihr Code</div>
      <div style="font-size:24px;font-weight:700;letter-spacing:.12em;color:#111827;margin-top:6px;">{{ incentive.code }}</div>
      {%- if incentive.expires_on %}<div style="${muted}margin-top:6px;">Einmal gültig bis {{ incentive.expires_on }}</div>{% endif %}
    </td>
  </tr>
</table>
{%- else -%}
<h1 style="${heading}">Letzte Erinnerung: Ihr Warenkorb wartet</h1>
<p style="${text}">${DE_GREETING}, dies ist unsere letzte Erinnerung an Ihren Warenkorb bei {{ shop.name }}.</p>
{%- endif %}
${DE_ITEMS}
${button("Bestellung abschließen")}`;

/** The default campaign's name in each shipped language. */
export const DEFAULT_CAMPAIGN_NAMES: Record<Language, string> = {
  en: DEFAULT_CAMPAIGN_NAME,
  ja: "カゴ落ち対策（デフォルト）",
  de: "Abgebrochener Checkout (Standard)",
};

/** The default campaign's steps in each shipped language (same timing and incentive; only the words differ). */
export const DEFAULT_STEPS_BY_LANGUAGE: Record<Language, readonly DefaultStep[]> = {
  en: DEFAULT_STEPS,
  ja: localizedSteps(DEFAULT_STEPS, [
    [`${JA_GREETING}、お買い物かごに商品が残っています`, JA_STEP_1],
    ["【{{ shop.name }}】お買い物かごの商品はまだ保存されています", JA_STEP_2],
    [
      "{% if incentive %}【{{ shop.name }}】{{ incentive.description }}オフのクーポンをご用意しました{% else %}【{{ shop.name }}】お買い物かごについての最後のご案内{% endif %}",
      JA_STEP_3,
    ],
  ]),
  de: localizedSteps(DEFAULT_STEPS, [
    ["{% if customer.first_name %}{{ customer.first_name }}, Sie{% else %}Sie{% endif %} haben etwas in Ihrem Warenkorb vergessen", DE_STEP_1],
    ["Ihr Warenkorb bei {{ shop.name }} wartet noch auf Sie", DE_STEP_2],
    [
      "{% if incentive %}{{ incentive.description }} Rabatt auf Ihren Warenkorb bei {{ shop.name }}{% else %}Letzte Erinnerung: Ihr Warenkorb bei {{ shop.name }}{% endif %}",
      DE_STEP_3,
    ],
  ]),
};

/** `base`'s steps (timing, incentive) with each one's subject and body replaced by `texts`, in order. */
export function localizedSteps(base: readonly DefaultStep[], texts: readonly (readonly [subject: string, bodyTemplate: string])[]): DefaultStep[] {
  return base.map((step, i) => ({ ...step, subject: texts[i]![0], bodyTemplate: texts[i]![1] }));
}

/**
 * The `create` data of a default campaign's steps: each step's main version in `main` (the shop's primary language)
 * with `language` set, and a CampaignStepTranslation in each other shipped language (docs/decisions/093).
 */
export function defaultStepsCreate(byLanguage: Record<Language, readonly DefaultStep[]>, main: Language) {
  return byLanguage[main].map((step, i) => ({
    ...step,
    language: main,
    translations: {
      create: LANGUAGES.filter((l) => l !== main).map((language) => ({
        language,
        subject: byLanguage[language][i]!.subject,
        bodyTemplate: byLanguage[language][i]!.bodyTemplate,
      })),
    },
  }));
}
