/**
 * A micro-batcher: requests that may share a forward (same key) wait a few milliseconds, or until the
 * running batch ends, and then go together, at most `maxBatch` at a time. One batch runs at a time (the
 * GPU runs one forward at a time anyway); the oldest waiting request's group goes first.
 * @module
 */

/** Options of {@linkcode Batcher}. */
export interface BatcherOptions {
  /** Most items in one batch. */
  maxBatch: number;
  /** How long the first item of an idle batcher waits for others, in ms. */
  waitMs: number;
}

/** What a batcher has done. */
export interface BatcherStats {
  /** Batches run (one forward each). */
  batches: number;
  /** Items in those batches. */
  items: number;
  /** Items waiting. */
  pending: number;
  /** Items in the batch running now. */
  running: number;
}

interface Entry<T, R> {
  key: string;
  item: T;
  resolve: (r: R) => void;
  reject: (e: unknown) => void;
  signal?: AbortSignal;
  onAbort?: () => void;
}

/** Groups items by key into batches for `run`, which returns one result per item, in order. */
export class Batcher<T, R> {
  #run: (key: string, items: T[]) => Promise<R[]>;
  #options: BatcherOptions;
  #queue: Entry<T, R>[] = [];
  #timer?: ReturnType<typeof setTimeout>;
  #running = 0;
  #current?: Promise<void>;
  #closed = false;
  #stats = { batches: 0, items: 0 };

  /** A batcher handing batches of items with the same key to `run`. */
  constructor(run: (key: string, items: T[]) => Promise<R[]>, options: BatcherOptions) {
    this.#run = run;
    this.#options = options;
  }

  /**
   * Queues an item; resolves with its result once its batch ran.
   *
   * @param key Items with equal keys may share a batch.
   * @param item The item.
   * @param signal Aborting it takes the item out of the queue (a running batch finishes regardless).
   * @returns The item's result.
   */
  submit(key: string, item: T, signal?: AbortSignal): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      if (this.#closed) return reject(new Error("The server is shutting down"));
      if (signal?.aborted) return reject(signal.reason);
      const entry: Entry<T, R> = { key, item, resolve, reject, signal };
      if (signal) {
        entry.onAbort = () => {
          const i = this.#queue.indexOf(entry);
          if (i >= 0) this.#queue.splice(i, 1), reject(signal.reason);
        };
        signal.addEventListener("abort", entry.onAbort, { once: true });
      }
      this.#queue.push(entry);
      this.#schedule();
    });
  }

  /** Counts of batches and items so far, and of items waiting or running now. */
  stats(): BatcherStats {
    return { ...this.#stats, pending: this.#queue.length, running: this.#running };
  }

  /**
   * Refuses new items and rejects the waiting ones.
   *
   * @returns Resolves once the running batch, if any, has finished.
   */
  close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    for (const e of this.#queue.splice(0)) this.#settle(e).reject(new Error("The server is shutting down"));
    return this.#current ?? Promise.resolve();
  }

  #settle(e: Entry<T, R>): Entry<T, R> {
    if (e.onAbort) e.signal!.removeEventListener("abort", e.onAbort);
    return e;
  }

  #schedule(): void {
    if (this.#running > 0 || this.#timer !== undefined || this.#queue.length === 0) return;
    const key = this.#queue[0].key;
    const full = this.#queue.filter((e) => e.key === key).length >= this.#options.maxBatch;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#next();
    }, full ? 0 : this.#options.waitMs);
  }

  #next(): void {
    if (this.#queue.length === 0 || this.#running > 0) return;
    const key = this.#queue[0].key;
    const batch: Entry<T, R>[] = [];
    this.#queue = this.#queue.filter((e) => {
      if (e.key !== key || batch.length >= this.#options.maxBatch) return true;
      batch.push(this.#settle(e));
      return false;
    });
    this.#running = batch.length;
    this.#stats.batches++;
    this.#stats.items += batch.length;
    this.#current = this.#run(key, batch.map((e) => e.item)).then(
      (results) => batch.forEach((e, i) => e.resolve(results[i])),
      (err) => batch.forEach((e) => e.reject(err)),
    ).finally(() => {
      this.#running = 0;
      this.#current = undefined;
      // Whatever arrived meanwhile has waited long enough: run it as soon as the event loop allows.
      if (this.#queue.length > 0 && !this.#closed) {
        this.#timer = setTimeout(() => {
          this.#timer = undefined;
          this.#next();
        }, 0);
      }
    });
  }
}
