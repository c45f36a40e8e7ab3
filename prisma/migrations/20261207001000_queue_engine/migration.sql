-- The job queue moves to graphile-worker (docs/decisions/080-queue-engine.md). Its own schema "graphile_worker" is
-- installed by the same migration run just before these migrations, under the same lock (app/database/migrate.server.ts).
-- Jobs still queued (or left running by a stopped worker) move over with their key, time and attempts; failed ones
-- keep their error. Finished ones are dropped with the table.
SELECT count(*) FROM graphile_worker.add_jobs(ARRAY(
  SELECT ROW(
    "name", "payload"::json,
    CASE WHEN "shopId" IS NULL THEN NULL
         ELSE 'shop:' || "shopId" || ':' || (CASE "name" WHEN 'process-shopify-webhook' THEN 'in' WHEN 'process-stripe-event' THEN 'in'
                                                         WHEN 'process-pixel-event' THEN 'in' WHEN 'send-message' THEN 'send' ELSE 'bg' END) END,
    "runAt" AT TIME ZONE 'UTC', GREATEST("maxAttempts" - "attempts", 1)::smallint, "key", 0::smallint, NULL::text[]
  )::graphile_worker.job_spec
  FROM "Job" WHERE "status" IN ('queued', 'running')));

DROP TABLE "Job";
