/**
 * The images of a list loaded in order with the next ones started ahead: the data loading of predict and
 * val, where the loads run on a `ThreadPool` (`src/threads/pool.ts`) while the caller works on the current images.
 * @module
 */
import type { Image } from "../io/image.ts";

/**
 * The images of a list decoded in order with the next ones started ahead: `get(i)` starts the loads of
 * items `i .. i + ahead` not started yet and returns item `i`'s (each item's load starts once; a load
 * that fails rejects only its own `get`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { DecodeAhead } from "./decode_ahead.ts";
 * const started: number[] = [];
 * const ahead = new DecodeAhead(5, 2, (i) => {
 *   started.push(i);
 *   return Promise.resolve({ width: i, height: 1, data: new Uint8Array(3 * i) });
 * });
 * assert.equal((await ahead.get(0)).width, 0);
 * assert.deepEqual(started, [0, 1, 2]);
 * assert.equal((await ahead.get(1)).width, 1);
 * assert.deepEqual(started, [0, 1, 2, 3]);
 * ```
 */
export class DecodeAhead<T = Image> {
  #started = new Map<number, Promise<T>>();
  #next = 0;

  /**
   * @param count How many items the list has.
   * @param ahead How many loads to keep started beyond the one asked for.
   * @param load Reads and decodes item `i` (on a `ThreadPool` (`src/threads/pool.ts`), typically).
   */
  constructor(
    readonly count: number,
    readonly ahead: number,
    readonly load: (i: number) => Promise<T>,
  ) {}

  /** Item `i`'s image (its load started now if it was not yet). */
  get(i: number): Promise<T> {
    const end = Math.min(this.count, i + 1 + Math.max(0, this.ahead));
    for (; this.#next < end; this.#next++) {
      if (this.#next < i) continue;
      const p = this.load(this.#next);
      p.catch(() => {}); // settled by its get(); not an unhandled rejection meanwhile
      this.#started.set(this.#next, p);
    }
    const p = this.#started.get(i);
    this.#started.delete(i);
    return p ?? this.load(i);
  }
}
