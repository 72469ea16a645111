/**
 * select_candidates GPU vs the CPU reference on seeded random `output0`s: the same candidate set (the GPU
 * list is in atomic order; sorted by anchor it must equal the reference), counts per image, and a list too
 * short for its image (count above cap, only cap valid rows).
 */
import assert from "node:assert/strict";
import { selectCandidates } from "../../kernels/select_candidates.ts";
import { candidatesFromRows, selectCandidates as selectCpu } from "../../src/cpu/select_candidates.ts";
import { runKernel } from "../_gpu.ts";
import { randomArray } from "../_rand.ts";

async function run(
  batch: number,
  channels: number,
  anchors: number,
  nc: number,
  conf: number,
  cap: number,
  seed: number,
) {
  const xBase = 7;
  const x = randomArray(xBase + batch * channels * anchors, seed, 0, 1);
  const got = await runKernel(selectCandidates, {
    inputs: { x },
    outputs: { count: new Float32Array(batch), y: new Float32Array(batch * cap * (channels + 1)) },
    params: { batch, channels, anchors, nc, xBase, cap, conf },
    overrides: { WG: 64 },
  });
  const counts = [...new Uint32Array(got.count.buffer, got.count.byteOffset, batch)];
  const want = Array.from(
    { length: batch },
    (_, b) => selectCpu(x.subarray(xBase), b, channels, anchors, nc, conf),
  );
  return { got, counts, want };
}

Deno.test("select_candidates: the reference's candidates per image, batch 3", async () => {
  const [batch, channels, anchors, nc] = [3, 4 + 5 + 3, 700, 5];
  const cap = anchors;
  const { got, counts, want } = await run(batch, channels, anchors, nc, 0.8, cap, 11);
  for (let b = 0; b < batch; b++) {
    assert.equal(counts[b], want[b].count);
    assert.ok(want[b].count > 50 && want[b].count < anchors - 50, `${want[b].count} candidates`);
    const rows = got.y.subarray(b * cap * (channels + 1), (b + 1) * cap * (channels + 1));
    const c = candidatesFromRows(rows, counts[b], channels);
    assert.deepEqual(c.anchors, want[b].anchors);
    assert.deepEqual(c.data, want[b].data);
  }
});

Deno.test("select_candidates: more candidates than cap: count says so, the cap rows stored are valid", async () => {
  const [batch, channels, anchors, nc] = [2, 4 + 2, 500, 2];
  const cap = 16;
  const { got, counts, want } = await run(batch, channels, anchors, nc, 0.3, cap, 12);
  for (let b = 0; b < batch; b++) {
    assert.equal(counts[b], want[b].count);
    assert.ok(counts[b] > cap);
    const rows = got.y.subarray(b * cap * (channels + 1), (b + 1) * cap * (channels + 1));
    const c = candidatesFromRows(rows, cap, channels);
    const valid = new Set(want[b].anchors);
    assert.equal(new Set(c.anchors).size, cap);
    for (const a of c.anchors) assert.ok(valid.has(a), `anchor ${a}`);
  }
});

Deno.test("select_candidates: threshold is strict and compared as float32", async () => {
  // 1 class, 4 anchors with scores at, below and above fround(0.3).
  const t = Math.fround(0.3);
  const x = new Float32Array([0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, t, t - 1e-7, 0.31, 1]);
  const got = await runKernel(selectCandidates, {
    inputs: { x },
    outputs: { count: new Float32Array(1), y: new Float32Array(4 * 6) },
    params: { batch: 1, channels: 5, anchors: 4, nc: 1, xBase: 0, cap: 4, conf: 0.3 },
    overrides: { WG: 64 },
  });
  const n = new Uint32Array(got.count.buffer, got.count.byteOffset, 1)[0];
  assert.equal(n, 2);
  assert.deepEqual([...candidatesFromRows(got.y, n, 5).anchors], [2, 3]);
  assert.deepEqual([...selectCpu(x, 0, 5, 4, 1, 0.3).anchors], [2, 3]);
});
