/**
 * SHA-1 of bytes as hex: pinned digests of decoded images (Python's `hashlib.sha1(...).hexdigest()`), and
 * byte-equality checks across processes without sending the bytes.
 * @module
 */

/**
 * The SHA-1 digest of `bytes`, as 40 lowercase hex digits.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { sha1 } from "./_sha1.ts";
 * assert.equal(await sha1(new TextEncoder().encode("abc")), "a9993e364706816aba3e25717850c26c9cd0d89d");
 * ```
 */
export async function sha1(bytes: Uint8Array): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-1", bytes as Uint8Array<ArrayBuffer>);
  return [...new Uint8Array(digest)].map((v) => v.toString(16).padStart(2, "0")).join("");
}
