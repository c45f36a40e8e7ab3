/**
 * Child process of bench/shopify-sync-worker.ts: the fake Shopify Admin API with one shop and N generated
 * checkouts, on real time. It runs apart from the app so that the app's memory is measured alone (the fake keeps
 * every checkout, and a bulk result file, in memory). IPC: sends {type:"ready", url}; answers {type:"stats"} with
 * the shop's counters; exits on {type:"close"}.
 */
import { generateCheckouts, startFakeShopifyAdmin } from "../test/fakes/shopify-admin";

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
const now = Date.now();
// In batches, so generating 20,000 checkouts does not hold two copies of them.
for (let done = 0, batch = 0; done < config.count; batch++) {
  const n = Math.min(2000, config.count - done);
  store.upsertCheckouts(
    generateCheckouts({ shop: store.shop, count: n, seed: config.seed + batch, now: now - 60_000, days: 30, firstId: 36_800_000_000_000 + batch * 100_000_000 }),
  );
  done += n;
}
// The bucket starts full when the measurement starts, not when the shop was created.
fake.resetStats(config.domain);

process.on("message", (message: { type: string }) => {
  if (message.type === "stats") {
    process.send!({ type: "stats", stats: fake.stats(config.domain), bulk: fake.bulkOperations(config.domain).map((op) => ({ status: op.status, objectCount: op.objectCount, fileSize: op.fileSize })) });
  } else if (message.type === "refill") {
    fake.bucket(config.domain).set(config.bucketSize);
    fake.resetStats(config.domain);
    process.send!({ type: "refilled" });
  } else if (message.type === "close") {
    void fake.close().then(() => process.exit(0));
  }
});
process.send!({ type: "ready", url: fake.url, checkouts: store.checkoutCount });
