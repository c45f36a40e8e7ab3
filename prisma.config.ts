// Prisma 6.19 with the JS engine and a driver adapter (@prisma/adapter-pg): `generate` and `migrate diff` work offline
// with no engine download. Migrations are applied by `npm run setup` (docs/decisions/071-applying-migrations.md).
import path from "node:path";
import { defineConfig } from "prisma/config";
import { PrismaPg } from "@prisma/adapter-pg";

// The schema reads env("DATABASE_URL"); without it the CLI falls back to downloading a query engine, which fails
// offline. `generate` and `migrate diff --from-empty` never connect, so a placeholder is enough for them.
process.env.DATABASE_URL ||= "postgresql://reclaim@127.0.0.1:54329/reclaim";

export default defineConfig({
  experimental: { adapter: true },
  engine: "js",
  schema: path.join("prisma", "schema.prisma"),
  async adapter() {
    return new PrismaPg({ connectionString: process.env.DATABASE_URL! });
  },
});
