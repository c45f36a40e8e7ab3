// Webhook deliveries as Shopify and Stripe make them, for the demo's simulators: each delivery is signed when it is
// sent (a retry carries a fresh signature and timestamp, as both vendors do), anything but a 2xx is retried with
// growing delays, and the queue is plain data so it survives a restart. Time is passed in (`tick(now)`).

export interface OutboxEntry {
  id: string;
  url: string;
  body: string;
  /** Which signer to use ("shopify" | "stripe"); resolved by the owner at send time. */
  signer: string;
  /** Extra data for the signer (e.g. the Shopify topic). */
  meta: Record<string, string>;
  attempts: number;
  /** ms timestamp of the next attempt. */
  nextAt: number;
  lastError: string | null;
}

export interface OutboxOptions {
  /** Headers for one attempt, computed at send time. */
  sign(entry: OutboxEntry): Record<string, string>;
  /** Delay before retry n (1 = first retry), ms of the sender's clock. Default: 1 min, doubling, capped at 6 h. */
  retryDelayMs?: (attempt: number) => number;
  maxAttempts?: number;
  /** Reports deliveries that were given up. */
  onGiveUp?: (entry: OutboxEntry) => void;
  fetch?: typeof fetch;
}

export class WebhookOutbox {
  private entries: OutboxEntry[] = [];
  private readonly inFlight = new Set<Promise<void>>();
  private sequence = 0;
  delivered = 0;

  constructor(private readonly options: OutboxOptions) {}

  enqueue(entry: Omit<OutboxEntry, "id" | "attempts" | "lastError">): void {
    this.sequence += 1;
    this.entries.push({ ...entry, id: `d${Date.now().toString(36)}${this.sequence}`, attempts: 0, lastError: null });
  }

  get pending(): number {
    return this.entries.length;
  }

  /** Starts every delivery that is due (at most `concurrency` at once); `idle()` waits for them. */
  tick(now: number, concurrency = 4): void {
    const due = this.entries.filter((e) => e.nextAt <= now && !this.sending.has(e.id));
    for (const entry of due.slice(0, Math.max(0, concurrency - this.sending.size))) {
      const p = this.attempt(entry, now).finally(() => this.inFlight.delete(p));
      this.inFlight.add(p);
    }
  }

  private readonly sending = new Set<string>();

  /** Waits for attempts in progress (shutdown, pause). */
  async idle(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
  }

  private async attempt(entry: OutboxEntry, now: number): Promise<void> {
    this.sending.add(entry.id);
    await Promise.resolve(); // registered in inFlight before any work
    entry.attempts += 1;
    let error: string | null = null;
    try {
      const response = await (this.options.fetch ?? fetch)(entry.url, {
        method: "POST",
        body: entry.body,
        headers: this.options.sign(entry),
        signal: AbortSignal.timeout(30_000),
      });
      await response.arrayBuffer();
      if (!response.ok) error = `HTTP ${response.status}`;
    } catch (e) {
      error = (e as Error).message;
    } finally {
      this.sending.delete(entry.id);
    }
    if (error === null) {
      this.entries = this.entries.filter((e) => e.id !== entry.id);
      this.delivered += 1;
      return;
    }
    entry.lastError = error;
    if (entry.attempts >= (this.options.maxAttempts ?? 8)) {
      this.entries = this.entries.filter((e) => e.id !== entry.id);
      this.options.onGiveUp?.(entry);
      return;
    }
    const delay = (this.options.retryDelayMs ?? ((n) => Math.min(6 * 3_600_000, 60_000 * 2 ** (n - 1))))(entry.attempts);
    entry.nextAt = now + delay;
  }

  /** Plain data, for saving. */
  toJSON(): OutboxEntry[] {
    return this.entries.map((e) => ({ ...e }));
  }

  restore(entries: OutboxEntry[]): void {
    this.entries = entries.map((e) => ({ ...e }));
  }
}
