/**
 * attention_rows GPU vs the CPU reference (the same one `attention` is tested against) on seeded random
 * shapes: YOLO11's heads (kd 32, hd 64) at N = 400 with every QB x WG tile, batch 2 with odd maps that leave
 * a partial query block, N = 1, key dims not divisible by 4 (the scalar tail), head dims of 4 and 24 (one
 * and six vec4 groups: slices that do not divide WG), channel-slice views with base offsets, and large
 * scores (the softmax must subtract the max). Tolerance as attention's: atol 1e-4 + rtol 1e-4 (1e-3 for
 * the large scores); `v` is copied exactly.
 */
import assert from "node:assert/strict";
import type { AttentionParams } from "../../kernels/attention.ts";
import {
  attentionRows,
  attentionRowsF16,
  attentionRowsTiles,
  attentionRowsWorkgroupBytes,
} from "../../kernels/attention_rows.ts";
import { type AttentionCase, checkAttention, POSITIONAL_CASES } from "./_attention_check.ts";

interface Case extends AttentionCase {
  qb?: number;
  wg?: number;
}

function check(c: Case, seed: number, half = false): Promise<void> {
  const tile = { QB: c.qb ?? 8, MAX_N: c.pixels, WG: c.wg ?? 256 };
  return checkAttention(half ? attentionRowsF16 : attentionRows, c, tile, seed, half);
}

const cases: [string, Case][] = [
  ["YOLO11 heads, 640 input (20x20), 2 heads, QB 8 WG 256", { pixels: 400, heads: 2 }],
  ["YOLO11 heads, N 400, QB 4 WG 128", { pixels: 400, heads: 2, qb: 4, wg: 128 }],
  ["YOLO11 heads, N 400, QB 8 WG 64", { pixels: 400, heads: 1, wg: 64 }],
  ["YOLO11 heads, odd map 7x9, batch 2, 3 heads (partial query block)", { batch: 2, pixels: 63, heads: 3 }],
  ["odd map, QB 4 WG 64, batch 2", { batch: 2, pixels: 45, heads: 2, qb: 4, wg: 64 }],
  ["1x1 map (N = 1, o = v), batch 2", { batch: 2, pixels: 1, heads: 2 }],
  ["kd 5 (scalar tail), hd 24 (6 vec4 groups), batch 2", { batch: 2, pixels: 37, heads: 2, kd: 5, hd: 24 }],
  ["kd 7, hd 4, QB 4 WG 64", { pixels: 70, heads: 3, kd: 7, hd: 4, qb: 4, wg: 64 }],
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
  Deno.test(`attention_rows: ${name}`, () => check(c, 7300 * (i + 1)));
});

cases.forEach(([name, c], i) => {
  Deno.test(`attention_rows_f16: ${name}`, () => check(c, 7300 * (i + 1), true));
});

Deno.test("attention_rows: validate rejects QB other than 4 and 8, HEAD_DIM not a multiple of 4, bad WG", () => {
  const o = attentionRows.overrides;
  assert.throws(() => attentionRows.validate!({ ...o, QB: 2 }), RangeError);
  assert.throws(() => attentionRows.validate!({ ...o, HEAD_DIM: 6 }), RangeError);
  assert.throws(() => attentionRows.validate!({ ...o, WG: 100 }), RangeError, "not a multiple of QB");
  assert.throws(
    () => attentionRows.validate!({ ...o, HEAD_DIM: 256, WG: 32 }),
    RangeError,
    "fewer than 64 vec4s",
  );
  attentionRows.validate!({ ...o, QB: 4, WG: 64 });
});

Deno.test("attention_rows: tiles fit the device's workgroup memory and invocations", () => {
  for (const [bytes, invocations] of [[16384, 256], [32768, 128], [49152, 1024]]) {
    const tiles = attentionRowsTiles(32, 64, 400, bytes, invocations);
    assert.ok(tiles.length > 0);
    for (const t of tiles) {
      assert.ok(attentionRowsWorkgroupBytes(t) <= bytes && t.WG <= invocations, JSON.stringify(t));
      attentionRows.validate!(t);
    }
  }
  assert.equal(attentionRowsTiles(32, 64, 400, 49152).length, 6, "every QB x WG at 48 KiB");
  assert.deepEqual(attentionRowsTiles(32, 12, 400, 49152).map((t) => t.QB), [8, 8, 8, 4, 4, 4]);
  assert.deepEqual(attentionRowsTiles(32, 10, 400, 49152), [], "HEAD_DIM not a multiple of 4");
  assert.deepEqual(attentionRowsTiles(32, 64, 6400, 49152), [], "80x80: rows too long");
});

Deno.test("attention_rows: dispatch covers query blocks, heads and images", () => {
  const p = { batch: 2, pixels: 400, numHeads: 3 } as AttentionParams;
  assert.deepEqual(attentionRows.dispatch(p, attentionRows.overrides), [50, 6, 1]);
  assert.deepEqual(attentionRows.dispatch(p, { ...attentionRows.overrides, QB: 4 }), [100, 6, 1]);
});
