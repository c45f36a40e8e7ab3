/**
 * A merchant's Liquid template, whatever its text: saving it gives problems with a line and column, or it renders —
 * never an exception, a hang or an email of unbounded size, and never anything from the server's disk.
 */
import { readFileSync } from "node:fs";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { checkTemplate, MAX_RENDERED_BODY_LENGTH, MAX_SUBJECT_LENGTH, renderEmail } from "~/email/render";
import { sampleTemplateInput, templateVariables } from "~/recovery/template";
import { RUNS } from "./arbitraries";

const vars = templateVariables(
  sampleTemplateInput({ name: "Fuzz Shop", domain: "fuzz.myshopify.com", postalAddress: "1 Fuzz Street", locale: "en", timeZone: "UTC" }),
);

const variable = fc.oneof(
  {
    weight: 5,
    arbitrary: fc.constantFrom(
      "shop.name",
      "customer.first_name",
      "customer.email",
      "checkout.total",
      "checkout.item_count",
      "recovery_url",
      "unsubscribe_url",
      "incentive.code",
      "checkout.line_items.first.title",
      "'text'",
      "42",
    ),
  },
  { weight: 1, arbitrary: fc.constantFrom("checkout.line_items", "nope", "shop.nope.deeper", "checkout.line_items[0].title", "-1.5", "(1..3)") },
);
const filter = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.constantFrom(
      "upcase",
      "downcase",
      "escape",
      "strip_html",
      "size",
      "url_encode",
      "default: 'there'",
      "append: '!'",
      "truncate: 10",
      "plus: 1",
    ),
  },
  {
    weight: 1,
    arbitrary: fc.oneof(
      fc.constantFrom("first", "last", "raw", "json", "no_such_filter"),
      fc
        .tuple(
          fc.constantFrom("default", "append", "prepend", "truncate", "split", "join", "plus", "times", "divided_by", "modulo", "slice", "date", "replace"),
          fc.constantFrom("'x'", "0", "-1", "3", "99999999999", "nope", "'%Y'"),
        )
        .map(([f, a]) => `${f}: ${a}`),
    ),
  },
);
const output = fc.tuple(variable, fc.array(filter, { maxLength: 3 })).map(([v, fs]) => `{{ ${[v, ...fs].join(" | ")} }}`);
const text = fc.oneof(
  { weight: 4, arbitrary: fc.string({ maxLength: 20 }).map((t) => t.replace(/[{}%]/g, "")) },
  { weight: 1, arbitrary: fc.constantFrom("<p>", "</p>", "\n", "{{", "}}", "{%", "%}", "{{-", "-}}", "é😀", "<script>alert(1)</script>") },
);
const fragment: fc.Arbitrary<string> = fc.letrec<{ node: string }>((tie) => ({
  node: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    text,
    output,
    fc.tuple(variable, fc.array(tie("node"), { maxLength: 3 })).map(([v, body]) => `{% if ${v} %}${body.join("")}{% endif %}`),
    fc.tuple(variable, fc.array(tie("node"), { maxLength: 3 })).map(([v, body]) => `{% unless ${v} %}${body.join("")}{% endunless %}`),
    fc
      .tuple(fc.constantFrom("checkout.line_items", "(1..3)", "nope", "shop.name"), fc.array(tie("node"), { maxLength: 3 }))
      .map(([c, body]) => `{% for item in ${c} %}${body.join("")}{{ item.title }}{% endfor %}`),
    fc.constantFrom(
      "{% assign x = 'a' %}",
      "{% capture c %}x{% endcapture %}{{ c }}",
      "{% raw %}{{ x }}{% endraw %}",
      "{% comment %}x{% endcomment %}",
      "{% cycle 'a', 'b' %}",
      "{% increment n %}",
      "{% if %}",
      "{% endif %}",
      "{% for %}",
      "{% else %}",
      "{% liquid assign y = 1 %}",
      "{% tablerow i in (1..3) %}{{ i }}{% endtablerow %}",
    ),
  ),
})).node;
const template = fc.array(fragment, { maxLength: 8 }).map((parts) => parts.join(""));
const subjectTemplate = fc.oneof(
  { weight: 2, arbitrary: fc.constantFrom("Your cart at {{ shop.name }}", "Hi {{ customer.first_name | default: 'there' }}") },
  { weight: 1, arbitrary: template },
);

function expectWellFormedProblems(problems: ReturnType<typeof checkTemplate>, step: { subject: string; bodyTemplate: string }) {
  for (const p of problems) {
    expect(["subject", "body"]).toContain(p.field);
    expect(typeof p.message).toBe("string");
    expect(p.message.length).toBeGreaterThan(0);
    if (p.line !== null) {
      const source = p.field === "subject" ? step.subject : step.bodyTemplate;
      expect(p.line).toBeGreaterThanOrEqual(1);
      expect(p.line).toBeLessThanOrEqual(source.split("\n").length);
      expect(p.column).toBeGreaterThanOrEqual(1);
    }
  }
}

describe("templates, fuzzed", () => {
  it("give problems with positions, or render a bounded email with its compliance footer", () => {
    let rendered = 0;
    fc.assert(
      fc.property(subjectTemplate, template, (subject, bodyTemplate) => {
        const step = { subject, bodyTemplate };
        const problems = checkTemplate(step, vars);
        expectWellFormedProblems(problems, step);
        if (problems.length > 0) return;
        const email = renderEmail(step, vars);
        expect(email.subject.length).toBeLessThanOrEqual(MAX_SUBJECT_LENGTH);
        expect(email.html.length).toBeLessThan(MAX_RENDERED_BODY_LENGTH + 20_000);
        expect(email.html).toContain("1 Fuzz Street");
        expect(typeof email.text).toBe("string");
        rendered++;
      }),
      { numRuns: RUNS.unit },
    );
    // The generator reaches rendering, not only the checker's refusals.
    expect(rendered).toBeGreaterThan(RUNS.unit / 10);
  });

  it("any text at all (not only Liquid-shaped) never makes the check throw", () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 200, unit: "binary" }), fc.string({ maxLength: 400, unit: "binary" }), (subject, bodyTemplate) => {
        expectWellFormedProblems(checkTemplate({ subject, bodyTemplate }, vars), { subject, bodyTemplate });
      }),
      { numRuns: RUNS.unit },
    );
  });
});

describe("templates that try to reach outside the email", () => {
  const packageJson = readFileSync("package.json", "utf8");
  it.each([
    "{% include 'package.json' %}",
    "{% render 'package.json' %}",
    "{% layout 'package.json' %}{{ x }}",
    "{% include '.env' %}",
    "{% include 'data/reclaim.sqlite' %}",
    "{% include '../../../etc/passwd' %}",
    "{% assign f = 'package.json' %}{% include f %}",
  ])("%s is refused and reads no file", (bodyTemplate) => {
    const problems = checkTemplate({ subject: "Hi", bodyTemplate }, vars);
    expect(problems.map((p) => p.field)).toEqual(["body"]);
    expect(JSON.stringify(problems)).not.toContain(packageJson.slice(0, 40));
    // Rendering directly (a template stored before this check existed) fails the same way.
    expect(() => renderEmail({ subject: "Hi", bodyTemplate }, vars)).toThrow(/Failed to lookup|layout|not found/i);
  });

  it.each([
    ["a loop over a huge range", "{% for i in (1..100000000) %}x{% endfor %}"],
    ["doubling a string", "{% assign a = 'x' %}{% for i in (1..40) %}{% assign a = a | append: a %}{% endfor %}{{ a }}"],
    ["a table of a hundred thousand cells", "{% tablerow i in (1..100000) cols:1000 %}{{ i }}{% endtablerow %}"],
  ])("%s is refused when saved", (_what, bodyTemplate) => {
    const problems = checkTemplate({ subject: "Hi", bodyTemplate }, vars);
    expect(problems).toHaveLength(1);
    // LiquidJS's limits, in the words the editor shows (app/email/render.ts), or the output cap.
    expect(problems[0]!.message).toMatch(/^This template (took too long to render|needed too much memory to render)|more than 500000 characters/);
  });
});
