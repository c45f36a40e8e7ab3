import { readdirSync, readFileSync, statSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const full = path.join(dir, name);
    return statSync(full).isDirectory() ? files(full) : /\.(ts|tsx)$/.test(name) ? [full] : [];
  });
}

const importsOf = (source: string) =>
  [...source.matchAll(/(?:import|export)\s[^'"]*?from\s*["']([^"']+)["']|import\(\s*["']([^"']+)["']\s*\)|require\(\s*["']([^"']+)["']\s*\)/g)].map(
    (m) => m[1] ?? m[2] ?? m[3]!,
  );

const FORBIDDEN = [
  /^@remix-run\//,
  /^@shopify\//,
  /^stripe$/,
  /^@prisma\//,
  /\.server(\.tsx?)?$/,
  /(^|\/)(models|sources|jobs|routes|email)\//,
  /^~\/(?!recovery\/)/,
];

describe("architecture", () => {
  const core = files("app/recovery").filter((f) => !f.endsWith(".test.ts"));

  it("has a core to protect", () => {
    expect(core.length).toBeGreaterThan(0);
  });

  it("keeps app/recovery free of Remix, Shopify, Stripe, Prisma and server-only imports", () => {
    const violations = core.flatMap((file) =>
      importsOf(readFileSync(file, "utf8"))
        .filter((spec) => FORBIDDEN.some((pattern) => pattern.test(spec)))
        .map((spec) => `${file} imports ${spec}`),
    );
    expect(violations).toEqual([]);
  });

  it("keeps the core off the clock and the environment (time is passed in)", () => {
    const violations = core.flatMap((file) => {
      const source = readFileSync(file, "utf8");
      return [/process\.env/, /new Date\(\)/, /Date\.now\(\)/].filter((pattern) => pattern.test(source)).map((pattern) => `${file} uses ${pattern.source}`);
    });
    expect(violations).toEqual([]);
  });

  it("detects a forbidden import (the check itself works)", () => {
    const sample = `import { PrismaClient } from "@prisma/client";\nimport x from "../models/recovery.server";`;
    expect(importsOf(sample).filter((spec) => FORBIDDEN.some((p) => p.test(spec)))).toHaveLength(2);
  });

  it("never reads ../shared at run time (users who clone the project do not have it)", () => {
    const offenders = [...files("app"), ...files("server"), "prisma.config.ts"].filter((f) => readFileSync(f, "utf8").includes("../shared"));
    expect(offenders).toEqual([]);
  });
});
