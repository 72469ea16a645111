/**
 * Reading the environment variables the library honours (`YOLO_WGSL_*`, `HOME`, `XDG_CACHE_HOME`) without
 * requiring `--allow-env`.
 *
 * @module
 */

/**
 * An environment variable, or undefined when it is unset, empty or not permitted (no `--allow-env`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { envVar } from "./env.ts";
 * assert.equal(envVar("YOLO_WGSL_SURELY_UNSET_VARIABLE"), undefined);
 * ```
 */
export function envVar(name: string): string | undefined {
  try {
    return Deno.env.get(name) || undefined;
  } catch {
    return undefined;
  }
}
