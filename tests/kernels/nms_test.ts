/**
 * nms GPU vs the CPU reference (headers built from `nonMaxSuppression`, the tested port of Ultralytics'
 * NMS) on seeded random candidate lists: clustered overlapping boxes of several classes, repeated scores
 * (the stable order), the classes filter, agnostic NMS, a small max_det, an image with more candidates
 * than its list holds, and a pool too small for every mask. Headers must be equal word for word; the
 * indirect dispatch arguments are (groups, most detections, batch).
 */
import assert from "node:assert/strict";
import {
  MASK_NO_ROOM,
  MASK_STORED,
  nms,
  nmsHeaderStride,
  nmsIouThreshold,
  type NmsParams,
} from "../../kernels/nms.ts";
import { nms as nmsCpu } from "../../src/cpu/nms.ts";
import { runKernel } from "../_gpu.ts";
import { rand } from "../_rand.ts";

/** Candidate lists `[batch][cap][channels + 1]` in a shuffled (atomic-like) order, and their counts. */
function candidateRows(
  batch: number,
  cap: number,
  nc: number,
  nm: number,
  counts: number[],
  [ih, iw]: [number, number],
  seed: number,
): Float32Array {
  const next = rand(seed);
  const width = 4 + nc + nm + 1;
  const rows = new Float32Array(batch * cap * width);
  for (let b = 0; b < batch; b++) {
    const n = Math.min(counts[b], cap);
    const anchors = [...Array(n * 3).keys()].sort(() => next() - 0.5).slice(0, n);
    const centers = Array.from(
      { length: 6 },
      () => [next() * iw, next() * ih, 10 + next() * 26, 10 + next() * 26],
    );
    const scores = [0.3, 0.45, 0.6, 0.75, 0.9].map(Math.fround);
    for (let s = 0; s < n; s++) {
      const r = (b * cap + s) * width;
      const [cx, cy, w, h] = centers[Math.floor(next() * centers.length)];
      rows[r] = anchors[s];
      rows[r + 1] = cx + (next() - 0.5) * 6;
      rows[r + 2] = cy + (next() - 0.5) * 6;
      rows[r + 3] = w * (0.8 + next() * 0.4);
      rows[r + 4] = h * (0.8 + next() * 0.4);
      for (let c = 0; c < nc; c++) {
        // A third of the scores come from a few values: equal scores, ordered by anchor.
        rows[r + 5 + c] = next() < 0.33 ? scores[Math.floor(next() * scores.length)] : 0.26 + next() * 0.7;
      }
      for (let m = 0; m < nm; m++) rows[r + 5 + nc + m] = next() * 2 - 1;
    }
  }
  return rows;
}

interface Case {
  batch: number;
  counts: number[];
  cap: number;
  nc?: number;
  maxDet?: number;
  classes?: number[] | null;
  agnostic?: boolean;
  iou?: number;
  poolWords?: number;
}

async function check(c: Case, seed: number) {
  const nc = c.nc ?? 4, nm = 3, channels = 4 + nc + nm;
  const [ih, iw, mh, mw] = [64, 96, 16, 24];
  const maxDet = c.maxDet ?? 300;
  const headerStride = nmsHeaderStride(maxDet);
  const iou = c.iou ?? 0.7;
  const p: NmsParams = {
    batch: c.batch,
    cap: c.cap,
    channels,
    nc,
    maxDet,
    classFilter: c.classes ? 1 : 0,
    agnostic: c.agnostic ? 1 : 0,
    headerStride,
    ih,
    iw,
    mh,
    mw,
    poolWords: c.poolWords ?? 4 * ih * iw,
    groups: 5,
    iou: nmsIouThreshold(iou),
    maxWh: 7680,
  };
  const rows = candidateRows(c.batch, c.cap, nc, nm, c.counts, [ih, iw], seed);
  const bits = new Uint32Array(4);
  for (const k of c.classes ?? []) bits[k >> 5] |= 1 << (k & 31);
  const got = await runKernel(nms, {
    inputs: {
      rows,
      count: new Float32Array(Uint32Array.from(c.counts).buffer),
      classes: new Float32Array(bits.buffer),
    },
    outputs: {
      scratch: new Float32Array(c.batch * c.cap * 16),
      header: new Float32Array(c.batch * headerStride),
      args: new Float32Array(3),
    },
    params: p,
    overrides: { MAXN: c.cap },
  });
  const header = new Uint32Array(got.header.buffer, got.header.byteOffset, c.batch * headerStride);
  const want = new Uint32Array(c.batch * headerStride);
  nmsCpu({ rows, counts: c.counts, classes: c.classes ?? null, header: want }, p, iou);
  for (let b = 0; b < c.batch; b++) {
    const k = want[b * headerStride];
    const used = b * headerStride + 4 + k * 20;
    assert.deepEqual(header.slice(b * headerStride, used), want.slice(b * headerStride, used), `image ${b}`);
  }
  const args = [...new Uint32Array(got.args.buffer, got.args.byteOffset, 3)];
  const most = Math.max(...Array.from({ length: c.batch }, (_, b) => want[b * headerStride]));
  assert.deepEqual(args, [5, most, c.batch]);
  return { header: want, headerStride };
}

Deno.test("nms: the reference's detections, boxes, windows and pool room, batch 3", async () => {
  const { header, headerStride } = await check({ batch: 3, counts: [180, 1, 64], cap: 200 }, 1);
  // Enough overlap to suppress, and detections left.
  assert.ok(header[0] > 5 && header[0] < 120, `${header[0]} kept of 180`);
  assert.equal(header[headerStride], 1);
  for (let d = 0; d < header[0]; d++) assert.equal(header[4 + d * 20 + 14], MASK_STORED);
});

Deno.test("nms: long lists (several candidates per invocation), the executor's cap of 1024", async () => {
  const { header } = await check({ batch: 2, counts: [700, 1024], cap: 1024 }, 10);
  assert.ok(header[0] > 20, `${header[0]} kept of 700`);
});

Deno.test("nms: classes filter, agnostic, max_det, iou 0.45", async () => {
  await check({ batch: 2, counts: [150, 90], cap: 160, classes: [0, 2], iou: 0.45 }, 2);
  await check({ batch: 2, counts: [150, 90], cap: 160, agnostic: true }, 3);
  const { header } = await check({ batch: 1, counts: [150], cap: 160, maxDet: 7 }, 4);
  assert.equal(header[0], 7);
});

Deno.test("nms: no candidates; more than the list holds; a pool without room for all masks", async () => {
  const { header, headerStride } = await check({ batch: 3, counts: [0, 300, 120], cap: 128 }, 5);
  assert.deepEqual([header[0], header[headerStride], header[headerStride + 1]], [0, 0, 1]);
  const small = await check({ batch: 1, counts: [120], cap: 128, poolWords: 300 }, 6);
  const statuses = Array.from({ length: small.header[0] }, (_, d) => small.header[4 + d * 20 + 14]);
  assert.ok(statuses.includes(MASK_STORED) && statuses.includes(MASK_NO_ROOM), statuses.join(","));
});

Deno.test("nms: an IoU equal to the threshold does not suppress (strict >, as torchvision)", async () => {
  // Box A (0, 0, 10, 10) and B (0, 0, 10, 5): IoU exactly 0.5.
  const width = 4 + 1 + 1 + 1; // anchor, box, 1 class, 1 coefficient
  const rows = new Float32Array([0, 5, 5, 10, 10, 0.9, 1, 1, 5, 2.5, 10, 5, 0.8, 1]);
  const kept = async (iou: number) => {
    const p: NmsParams = {
      batch: 1,
      cap: 2,
      channels: width - 1,
      nc: 1,
      maxDet: 300,
      classFilter: 0,
      agnostic: 0,
      headerStride: nmsHeaderStride(300),
      ih: 32,
      iw: 32,
      mh: 8,
      mw: 8,
      poolWords: 1024,
      groups: 1,
      iou: nmsIouThreshold(iou),
      maxWh: 7680,
    };
    const got = await runKernel(nms, {
      inputs: { rows, count: new Float32Array(Uint32Array.of(2).buffer) },
      outputs: {
        scratch: new Float32Array(32),
        header: new Float32Array(p.headerStride),
        args: new Float32Array(3),
      },
      params: p,
      overrides: { MAXN: 2 },
    });
    const want = new Uint32Array(p.headerStride);
    nmsCpu({ rows, counts: [2], classes: null, header: want }, p, iou);
    const k = new Uint32Array(got.header.buffer, got.header.byteOffset, 1)[0];
    assert.equal(k, want[0]);
    return k;
  };
  assert.equal(await kept(0.5), 2);
  assert.equal(await kept(0.49), 1);
});
