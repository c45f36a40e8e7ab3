import { PermanentJobError } from "../jobs/engine.server";

/**
 * Invariant 4 for jobs: a job enqueued for a shop (Job.shopId) acts on that shop's rows only. A job whose payload names
 * a row of another shop fails at once, before it changes anything, with the reason kept on the job. The owner is looked
 * up only for jobs that carry a shop (sweeps across shops have none).
 */
export async function refuseOtherShopsRow(job: { shopId: string | null }, ownerShopId: () => Promise<string | null | undefined>, what: string): Promise<void> {
  if (!job.shopId) return;
  const owner = await ownerShopId();
  if (owner && owner !== job.shopId) throw new PermanentJobError(`${what} belongs to another shop than this job's (${job.shopId})`);
}
