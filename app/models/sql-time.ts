/**
 * How Prisma's SQLite adapter stores DateTime: ISO 8601 with milliseconds and an explicit +00:00 offset, so stored times
 * sort and compare correctly as text. Raw SQL must pass times in exactly this form.
 */
export const sqlTime = (d: Date) => d.toISOString().replace("Z", "+00:00");
