import { describe, expect, it } from "vitest";
import { htmlToText } from "~/email/html-to-text";
import { checkTemplate, renderEmail } from "~/email/render";
import { DEFAULT_STEPS } from "~/recovery/campaign-defaults";
import { sampleTemplateInput, templateVariables } from "~/recovery/template";

const sample = templateVariables(sampleTemplateInput());

describe("checking templates on save", () => {
  it("the default templates are clean", () => {
    for (const step of DEFAULT_STEPS) expect(checkTemplate(step, sample)).toEqual([]);
  });

  it.each([
    ["an unclosed output", "<p>Hi</p>\n<p>{{ customer.first_name </p>", 2, 4, /not closed/],
    ["an unclosed tag", "<p>Hi</p>\n\n  {% if incentive %}\n<p>code</p>", 3, 3, /not closed/],
    ["a misspelt variable", "<p>Hello</p>\n<p>Hi {{ custmer.first_name }}</p>", 2, 10, /undefined variable: custmer/],
    ["an unknown filter", "<p>{{ checkout.total | shout }}</p>", 1, 4, /undefined filter: shout/],
  ])("reports %s with its line and column", (_label, body, line, column, message) => {
    const problems = checkTemplate({ subject: "Hi", bodyTemplate: body }, sample);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatchObject({ field: "body", line, column });
    expect(problems[0]!.message).toMatch(message);
    expect(problems[0]!.message).toContain(`(line ${line}, column ${column})`);
  });

  it("checks the subject too, and both branches of {% if incentive %}", () => {
    expect(checkTemplate({ subject: "{{ shop.nam }}", bodyTemplate: "<p>x</p>" }, sample)[0]).toMatchObject({ field: "subject", line: 1, column: 4 });
    // A typo only reached when there is no incentive (Stripe checkouts) is still caught.
    const problems = checkTemplate({ subject: "Hi", bodyTemplate: "{% if incentive %}{{ incentive.code }}{% else %}{{ checkout.totl }}{% endif %}" }, sample);
    expect(problems[0]?.message).toMatch(/checkout.totl|totl/);
  });

  it("refuses empty templates", () => {
    expect(checkTemplate({ subject: " ", bodyTemplate: "" }, sample).map((p) => p.field)).toEqual(["subject", "body"]);
  });
});

describe("rendering", () => {
  it("renders HTML and plain text, with the compliance footer whatever the template says", () => {
    const email = renderEmail({ subject: "Hi {{ customer.first_name }}", bodyTemplate: "<p>Just this.</p>" }, sample);
    expect(email.subject).toBe("Hi Alex");
    expect(email.html).toContain("<p>Just this.</p>");
    expect(email.html).toContain('href="https://example.com/unsubscribe"');
    expect(email.html).toContain("1 Market Street, Springfield, 12345, US");
    expect(email.html).toContain('name="viewport"');
    expect(email.text).toContain("Just this.");
    expect(email.text).toContain("Unsubscribe from these reminders (https://example.com/unsubscribe)");
    expect(email.text).toContain("1 Market Street");
    expect(email.text).not.toMatch(/<[a-z]/i);
  });

  it("escapes what buyers typed (names, item titles); subjects are plain text", () => {
    const input = sampleTemplateInput();
    const vars = templateVariables({
      ...input,
      recovery: {
        ...input.recovery,
        firstName: '<img src=x onerror="alert(1)">',
        lineItems: [{ title: "<script>x()</script>", variantTitle: null, quantity: 1, imageUrl: null, unitPriceMinor: 100, totalPriceMinor: 100 }],
      },
    });
    const email = renderEmail(DEFAULT_STEPS[0]!, vars);
    expect(email.html).not.toContain("<script>x()");
    expect(email.html).not.toContain("<img src=x");
    expect(email.html).toContain("&lt;script&gt;");
    expect(email.subject).toContain('<img src=x onerror="alert(1)">, you left something in your cart');
  });

  it("the default emails show the items, total, button and (last step) the code", () => {
    const [first, , last] = DEFAULT_STEPS.map((s) => renderEmail(s, sample));
    expect(first!.html).toContain("Merino crew sweater");
    expect(first!.html).toContain("$118.00");
    expect(first!.html).toContain('href="https://example.com/checkout"');
    expect(first!.text).toContain("Return to your cart (https://example.com/checkout)");
    expect(last!.subject).toBe("10% off your cart at Acme Outfitters");
    expect(last!.html).toContain("BACK-SAMPLE7");
    const withoutCode = renderEmail(DEFAULT_STEPS[2]!, { ...sample, incentive: null });
    expect(withoutCode.subject).toBe("Last reminder: your cart at Acme Outfitters");
    expect(withoutCode.html).not.toContain("Your code");
  });
});

describe("htmlToText", () => {
  it("keeps structure and spells out links", () => {
    const text = htmlToText(
      `<html><head><style>p{}</style><title>T</title></head><body><div style="display:none">preheader</div><h1>Hello &amp; welcome</h1><p>Line one<br>line two</p><table><tr><td>Mug</td><td>€5.00</td></tr></table><a href="https://x.test/a?b=1&amp;c=2">Go</a></body></html>`,
    );
    expect(text).toBe("Hello & welcome\n\nLine one\nline two\n\nMug  €5.00\n\nGo (https://x.test/a?b=1&c=2)");
  });
});

describe("htmlToText on hostile HTML", () => {
  it.each(["<span", "<!--", "<style", '<a href="x">', '<div style="display:none">'])("converts 400,000 characters of unclosed %s without stalling", (open) => {
    const html = open.repeat(Math.ceil(400_000 / open.length));
    const started = Date.now();
    expect(typeof htmlToText(html)).toBe("string");
    expect(Date.now() - started).toBeLessThan(5_000); // hang guard only: the old regexes took ~14 s
  });

  it("renders an email whose body is ~500,000 characters of unclosed tags without stalling", () => {
    const started = Date.now();
    const email = renderEmail({ subject: "Hi", bodyTemplate: `{% for i in (1..98000) %}<span{% endfor %}` }, sample);
    expect(email.text).toContain("Unsubscribe");
    expect(Date.now() - started).toBeLessThan(5_000); // hang guard only
  });
});
