/**
 * Child process of bench/shopify-sync-worker.ts: the fake Shopify Admin API with one shop and N generated
 * checkouts, on real time. It runs apart from the app so that the app's memory is measured alone (the fake keeps
 * every checkout, and a bulk result file, in memory). IPC: sends {type:"ready", url}; answers {type:"stats"} with
 * the shop's counters; exits on {type:"close"}.
 */
import { generateCheckouts, startFakeShopifyAdmin } from "../app/demo/fakes/shopify-admin";

interface Config {
  domain: string;
  accessToken: string;
  count: number;
  seed: number;
  bucketSize: number;
  restoreRate: number;
  /** reads of a bulk operation before it completes */
  bulkPollsToComplete: number;
}

const config = JSON.parse(process.argv[2]!) as Config;
const fake = await startFakeShopifyAdmin({ bulkPollsToComplete: config.bulkPollsToComplete, documentLogLimit: 10 });
const store = fake.addShop({ domain: config.domain, accessToken: config.accessToken, bucketSize: config.bucketSize, restoreRate: config.restoreRate });
const end = Date.now() - 60_000;
// In batches (so generating 20,000 checkouts does not hold two copies of them), each covering the next slice of
// the 30 days, so that ids rise with creation time across the whole shop, as Shopify's do.
const BATCH = 2000;
const batches = Math.ceil(config.count / BATCH);
const sliceDays = 30 / batches;
for (let batch = 0; batch < batches; batch++) {
  const n = Math.min(BATCH, config.count - batch * BATCH);
  const sliceEnd = end - (batches - 1 - batch) * sliceDays * 86_400_000;
  store.upsertCheckouts(
    generateCheckouts({
      shop: store.shop,
      count: n,
      seed: config.seed + batch,
      now: sliceEnd,
      days: sliceDays,
      firstId: 36_800_000_000_000 + batch * 100_000_000,
      // Several checkouts per customer (about half come back), as on a live shop; each batch numbers its customers
      // apart so no two people share an id or an email. Completed checkouts (25 %) and every consent state come
      // from the generator's defaults.
      returningShare: 0.5,
      firstCustomer: { id: 7_400_000_000_000 + batch * 10_000_000, number: batch * 100_000 },
    }),
  );
}
// The bucket starts full when the measurement starts, not when the shop was created.
fake.resetStats(config.domain);

process.on("message", (message: { type: string }) => {
  if (message.type === "stats") {
    process.send!({
      type: "stats",
      stats: fake.stats(config.domain),
      bulk: fake
        .bulkOperations(config.domain)
        .map((op) => ({ status: op.status, objectCount: op.objectCount, fileSize: op.fileSize, createdAt: op.createdAt })),
    });
  } else if (message.type === "refill") {
    fake.bucket(config.domain).set(config.bucketSize);
    fake.resetStats(config.domain);
    process.send!({ type: "refilled" });
  } else if (message.type === "close") {
    void fake.close().then(() => process.exit(0));
  }
});
process.send!({ type: "ready", url: fake.url, checkouts: store.checkoutCount });
