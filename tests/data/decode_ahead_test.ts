/** `DecodeAhead`: loads start ahead in order, each once, and a failed one rejects only its own `get`. */
import assert from "node:assert/strict";
import { DecodeAhead } from "../../src/data/decode_ahead.ts";
import type { Image } from "../../src/io/image.ts";

Deno.test("DecodeAhead: in order, `ahead` loads started past the one asked for, a failure only its own", async () => {
  const started: number[] = [];
  const img = (i: number): Image => ({ width: i, height: 1, data: new Uint8Array(3 * i) });
  const ahead = new DecodeAhead(6, 2, (i) => {
    started.push(i);
    return i === 1 ? Promise.reject(new Error("bad 1")) : Promise.resolve(img(i));
  });
  assert.equal((await ahead.get(0)).width, 0);
  assert.deepEqual(started, [0, 1, 2]);
  await new Promise((r) => setTimeout(r, 0)); // item 1's rejection settles unawaited: not unhandled
  await assert.rejects(ahead.get(1), /bad 1/);
  assert.deepEqual(started, [0, 1, 2, 3]);
  assert.equal((await ahead.get(2)).width, 2);
  assert.equal((await ahead.get(5)).width, 5);
  assert.deepEqual(started, [0, 1, 2, 3, 4, 5]);
});
