// Prisma 6.19 with the JS engine and a driver adapter: generate, migrate diff/deploy and db push work offline
// (no engine binary download). See docs/decisions/002-sqlite-first.md.
import path from "node:path";
import { defineConfig } from "prisma/config";
import { PrismaBetterSQLite3 } from "@prisma/adapter-better-sqlite3";
import { databaseUrl } from "./app/database-url";

// The schema reads env("DATABASE_URL"); without it the CLI falls back to downloading a query engine, which fails offline.
process.env.DATABASE_URL = databaseUrl(process.env.DATABASE_URL);

export default defineConfig({
  experimental: { adapter: true },
  engine: "js",
  schema: path.join("prisma", "schema.prisma"),
  async adapter() {
    return new PrismaBetterSQLite3({ url: process.env.DATABASE_URL! });
  },
});
