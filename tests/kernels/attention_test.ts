/**
 * attention GPU vs the CPU reference on seeded random shapes: YOLO11's head sizes (kd 32, hd 64) at
 * N = 400 (640 input) with 2 heads, batch 2, odd pixel counts that leave partial query and key blocks,
 * a 1x1 map (N = 1: o = v), N = 2040 (1920x1088) with small heads, key dims not divisible by 4,
 * channel-slice views with base offsets for x, o and v, every WG_Q, and large scores (the softmax must
 * subtract the max). Tolerance: atol 1e-4 + rtol 1e-4 (outputs are convex combinations of v in [-1, 1];
 * atol 1e-3 for the large-score case, whose scores reach ~300).
 */
import assert from "node:assert/strict";
import {
  attention,
  attentionF16,
  attentionKvSplit,
  type AttentionParams,
  attentionWorkgroupBytes,
} from "../../kernels/attention.ts";
import { type AttentionCase, checkAttention, POSITIONAL_CASES } from "./_attention_check.ts";

interface Case extends AttentionCase {
  wgQ?: number;
  kvSplit?: number;
}

function check(c: Case, seed: number, half = false): Promise<void> {
  const tile = { ...(c.wgQ ? { WG_Q: c.wgQ } : {}), ...(c.kvSplit ? { KV_SPLIT: c.kvSplit } : {}) };
  return checkAttention(half ? attentionF16 : attention, c, tile, seed, half);
}

const cases: [string, Case][] = [
  ["YOLO11 heads, 640 input (20x20), 2 heads", { pixels: 400, heads: 2 }],
  ["YOLO11 heads, odd map 7x9, batch 2, 3 heads", { batch: 2, pixels: 63, heads: 3 }],
  ["1x1 map (N = 1, o = v), batch 2", { batch: 2, pixels: 1, heads: 2 }],
  ["N = 2040 (1920x1088), small heads, kd 5", { pixels: 2040, heads: 1, kd: 5, hd: 8 }],
  ["kd 5, hd 24, batch 2", { batch: 2, pixels: 37, heads: 2, kd: 5, hd: 24 }],
  ["4 heads, N 9", { pixels: 9, heads: 4, kd: 8, hd: 16 }],
  ["channel-slice views with base offsets", {
    batch: 2,
    pixels: 45,
    heads: 2,
    kd: 8,
    hd: 16,
    xView: [7, 5, 3],
    oView: [3, 6, 2],
    vView: [11, 4, 4],
  }],
  ["WG_Q 4 (16 KiB), N 50", { pixels: 50, heads: 1, wgQ: 4 }],
  ["WG_Q 1, N 6", { pixels: 6, heads: 2, kd: 8, hd: 16, wgQ: 1 }],
  ["WG_Q 16, N 130", { pixels: 130, heads: 1, kd: 8, hd: 16, wgQ: 16 }],
  ["KV_SPLIT 2: YOLO11 heads at 640, WG_Q 4 (30 KiB)", { pixels: 400, heads: 2, wgQ: 4, kvSplit: 2 }],
  ["KV_SPLIT 3, 17 key blocks (a stream idle in the last round), batch 2, views", {
    batch: 2,
    pixels: 130,
    heads: 2,
    kd: 8,
    hd: 16,
    wgQ: 1,
    kvSplit: 3,
    xView: [7, 5, 3],
    oView: [3, 6, 2],
    vView: [11, 4, 4],
  }],
  ["KV_SPLIT 4 with 2 key blocks (streams that see no keys)", {
    pixels: 9,
    heads: 3,
    kd: 8,
    hd: 16,
    wgQ: 1,
    kvSplit: 4,
  }],
  ["KV_SPLIT 2 with large scores (streams merged at different maxima)", {
    pixels: 200,
    heads: 1,
    kd: 8,
    hd: 16,
    wgQ: 2,
    kvSplit: 2,
    range: 6,
    scale: 1,
    atol: 1e-3,
  }],
  ...POSITIONAL_CASES,
  ["large scores (max subtraction), N 200", {
    pixels: 200,
    heads: 1,
    kd: 8,
    hd: 16,
    range: 6,
    scale: 1,
    atol: 1e-3,
  }],
];

cases.forEach(([name, c], i) => {
  Deno.test(`attention: ${name}`, () => check(c, 9000 * (i + 1)));
});

cases.forEach(([name, c], i) => {
  Deno.test(`attention_f16: ${name}`, () => check(c, 9000 * (i + 1), true));
});

Deno.test("attention: workgroup memory of the default and 16 KiB tiles", () => {
  assert.equal(attentionWorkgroupBytes(attention.overrides), 20480);
  assert.equal(attentionWorkgroupBytes({ ...attention.overrides, WG_Q: 4 }), 16384);
});

Deno.test("attention: validate rejects HEAD_DIM not a multiple of 8 and key-stream states that do not fit", () => {
  assert.throws(() => attention.validate!({ ...attention.overrides, HEAD_DIM: 12 }), RangeError);
  assert.throws(() => attention.validate!({ ...attention.overrides, HEAD_DIM: 16, KV_SPLIT: 2 }), RangeError);
  assert.throws(() => attention.validate!({ ...attention.overrides, KV_SPLIT: 0 }), RangeError);
  attention.validate!({ ...attention.overrides, KV_SPLIT: 3 });
});

Deno.test("attention: KV_SPLIT only for small maps, within the workgroup limits", () => {
  const tile = { KEY_DIM: 32, HEAD_DIM: 64, WG_Q: 4, KV_SPLIT: 1 };
  assert.equal(attentionKvSplit(tile, 400, 2, 264, 65536, 1024), 4);
  assert.equal(attentionKvSplit(tile, 400, 2, 264, 65536, 96), 3, "96 invocations: 3 streams of 32");
  assert.equal(attentionKvSplit(tile, 400, 2, 264, 32768), 2);
  assert.equal(attentionKvSplit(tile, 40, 2, 264, 65536, 1024), 2, "2 key blocks: 2 streams at most");
  assert.equal(attentionKvSplit(tile, 6400, 2, 264, 65536, 1024), 1, "400 query blocks fill the GPU");
  assert.equal(attentionWorkgroupBytes({ ...tile, KV_SPLIT: 3 }), 16 * (128 + 3 * 896));
});

Deno.test("attention: dispatch covers queries, heads and images", () => {
  const p = { batch: 2, pixels: 400, numHeads: 3 } as AttentionParams;
  assert.deepEqual(attention.dispatch(p, attention.overrides), [13, 6, 1]);
});
