/**
 * instance_masks GPU vs the CPU reference (windows filled with the bits of `processMask`, the tested port of
 * Ultralytics' `process_mask`) on seeded random detections over smooth random prototypes: batch 2 with a
 * prototype base offset, boxes across the image edges, one and several workgroups per mask, records
 * without room (left alone). The GPU sums and blends in float32 where the reference uses doubles, so a
 * pixel whose blended logit is within rounding of 0 may differ: at most 1 in 2000, and each area must be
 * its own window's pixel count.
 */
import assert from "node:assert/strict";
import { instanceMasks, type InstanceMasksParams } from "../../kernels/instance_masks.ts";
import {
  MASK_NO_ROOM,
  MASK_STORED,
  nmsHeaderStride,
  nmsIouThreshold,
  type NmsParams,
} from "../../kernels/nms.ts";
import { instanceMasks as instanceMasksCpu } from "../../src/cpu/instance_masks.ts";
import { nms as nmsCpu } from "../../src/cpu/nms.ts";
import { runKernel } from "../_gpu.ts";
import { rand } from "../_rand.ts";

const f32View = (u: Uint32Array) => new Float32Array(u.buffer, u.byteOffset, u.length);
const u32View = (f: Float32Array) => new Uint32Array(f.buffer, f.byteOffset, f.length);

async function check(batch: number, counts: number[], poolWords: number, groups: number, seed: number) {
  const next = rand(seed);
  const [ih, iw, mh, mw, nc, nm, cap] = [64, 96, 16, 24, 3, 4, 64];
  const channels = 4 + nc + nm, width = channels + 1;
  const rows = new Float32Array(batch * cap * width);
  for (let b = 0; b < batch; b++) {
    for (let s = 0; s < counts[b]; s++) {
      const r = (b * cap + s) * width;
      // Centers anywhere (boxes cross the edges), sizes up to most of the image.
      rows.set([s, next() * iw, next() * ih, 4 + next() * 80, 4 + next() * 56], r);
      for (let c = 0; c < nc; c++) rows[r + 5 + c] = 0.3 + next() * 0.7;
      for (let m = 0; m < nm; m++) rows[r + 5 + nc + m] = next() * 2 - 1;
    }
  }
  // Smooth prototypes: each plane a sum of two random waves, so masks have regions and edges.
  const protoBase = 5;
  const protos = new Float32Array(protoBase + batch * nm * mh * mw);
  for (let i = 0; i < batch * nm; i++) {
    const [a, b2, c, d] = [next() * 0.6, next() * 0.6, next() * 6, next() * 6];
    for (let y = 0; y < mh; y++) {
      for (let x = 0; x < mw; x++) {
        protos[protoBase + (i * mh + y) * mw + x] = Math.sin(a * x + c) + Math.cos(b2 * y + d);
      }
    }
  }
  const maxDet = 300, headerStride = nmsHeaderStride(maxDet);
  const np: NmsParams = {
    batch,
    cap,
    channels,
    nc,
    maxDet,
    classFilter: 0,
    agnostic: 0,
    headerStride,
    ih,
    iw,
    mh,
    mw,
    poolWords,
    groups,
    iou: nmsIouThreshold(0.7),
    maxWh: 7680,
  };
  const header = new Uint32Array(batch * headerStride);
  nmsCpu({ rows, counts, classes: null, header }, np, 0.7);
  const most = Math.max(...Array.from({ length: batch }, (_, b) => header[b * headerStride]));
  const p: InstanceMasksParams = {
    batch,
    maxDet: most,
    cap,
    channels,
    nc,
    nm,
    ih,
    iw,
    mh,
    mw,
    headerStride,
    poolWords,
    protoBase,
  };
  const want = { header: header.slice(), pool: new Uint32Array(batch * poolWords) };
  instanceMasksCpu({ rows, protos, header: want.header, pool: want.pool }, p);
  const got = await runKernel(instanceMasks, {
    inputs: { rows, protos },
    outputs: { header: f32View(header.slice()), pool: new Float32Array(batch * poolWords) },
    params: p,
    overrides: { GROUPS: groups },
  });
  const gotHeader = u32View(got.header), gotPool = u32View(got.pool);
  const bit = (pool: Uint32Array, i: number) => (pool[i >> 5] >>> (i & 31)) & 1;
  let pixels = 0, differ = 0, stored = 0, noRoom = 0;
  for (let b = 0; b < batch; b++) {
    for (let d = 0; d < header[b * headerStride]; d++) {
      const h = b * headerStride + 4 + d * 20;
      const status = header[h + 14];
      if (status === MASK_NO_ROOM) noRoom++;
      if (status !== MASK_STORED) {
        assert.equal(gotHeader[h + 13], 0);
        continue;
      }
      stored++;
      const start = 32 * (b * poolWords + header[h + 12]), size = 32 * header[h + 10] * header[h + 11];
      let area = 0;
      for (let i = start; i < start + size; i++) {
        area += bit(gotPool, i);
        if (bit(gotPool, i) !== bit(want.pool, i)) differ++;
      }
      pixels += size;
      assert.equal(gotHeader[h + 13], area, `area of detection ${d} of image ${b}`);
    }
  }
  assert.ok(differ <= pixels / 2000, `${differ} of ${pixels} pixels differ`);
  // Nothing written outside the stored windows: the pool's used words hold every set byte.
  for (let b = 0; b < batch; b++) {
    const used = header[b * headerStride + 2];
    assert.ok(gotPool.subarray(b * poolWords + used, (b + 1) * poolWords).every((v) => v === 0));
  }
  return { stored, noRoom, pixels };
}

Deno.test("instance_masks: the reference's masks and areas, batch 2, one and several workgroups per mask", async () => {
  for (const groups of [1, 3, 32]) {
    const { stored, pixels } = await check(2, [40, 25], (64 * 96 * 16) / 32, groups, 7 + groups);
    assert.ok(stored > 10 && pixels > 20000, `${stored} masks, ${pixels} pixels`);
  }
});

Deno.test("instance_masks: records without pool room are left alone", async () => {
  const { stored, noRoom } = await check(1, [40], 250, 2, 9);
  assert.ok(stored > 0 && noRoom > 0, `${stored} stored, ${noRoom} without room`);
});
