/** Ultralytics' `increment_path` for run and output folders. @module */

/**
 * `path` when it does not exist (or `existOk`), else the first of `path2`, `path3`, ... that does not.
 *
 * @param path The wanted path.
 * @param existOk Reuse `path` even when it exists.
 * @returns The path to use.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { incrementPath } from "./increment_path.ts";
 * const dir = await Deno.makeTempDir();
 * assert.equal(incrementPath(`${dir}/run`), `${dir}/run`);
 * Deno.mkdirSync(`${dir}/run`);
 * assert.equal(incrementPath(`${dir}/run`), `${dir}/run2`);
 * assert.equal(incrementPath(`${dir}/run`, true), `${dir}/run`);
 * Deno.removeSync(dir, { recursive: true });
 * ```
 */
export function incrementPath(path: string, existOk = false): string {
  const exists = (p: string) => {
    try {
      Deno.statSync(p);
      return true;
    } catch {
      return false;
    }
  };
  if (existOk || !exists(path)) return path;
  for (let n = 2;; n++) if (!exists(`${path}${n}`)) return `${path}${n}`;
}
