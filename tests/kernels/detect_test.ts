/**
 * detect GPU vs the CPU reference: 3 levels (strides 8, 16, 32) with odd map sizes, batch 2, gaps
 * between levels and a base offset for output0, nc 80 / nm 32 on a 128x128 input, a detection-only head
 * (nm 0), one 1x1 level, 4 levels, REG_MAX 4, and wide logits (the DFL softmax must subtract the max,
 * the sigmoid must not overflow exp).
 * Tolerance: boxes atol 1e-3 + rtol 1e-5 (input pixels, up to ~10^3); class scores and coefficients
 * atol 1e-6 + rtol 1e-6.
 */
import assert from "node:assert/strict";
import {
  detect,
  detectAnchors,
  detectF16,
  type DetectLevel,
  type DetectOverrides,
  detectParams,
} from "../../kernels/detect.ts";
import { detect as detectCpu } from "../../src/cpu/detect.ts";
import { assertClose } from "../_close.ts";
import { roundF16, runKernel } from "../_gpu.ts";
import { randomArray } from "../_rand.ts";

interface Case {
  batch?: number;
  nc: number;
  nm: number;
  /** [h, w, stride] per level. */
  levels: [number, number, number][];
  /** Unused elements between levels, and before output0. */
  gap?: number;
  yBase?: number;
  regMax?: number;
  /** Logits uniform in [-range, range]. @default {4} */
  range?: number;
  /** Output rows per invocation (the JOBS override). @default {1} */
  jobs?: number;
  /**
   * Two dispatches as on a software adapter: PART 1 (the box axes, JOBS 2), then PART 2 (the channels,
   * `jobs` per invocation); the first must leave the channel rows untouched.
   */
  split?: boolean;
}

async function check(c: Case, seed: number, half = false): Promise<void> {
  const h = (a: Float32Array) => (half ? roundF16(a) : a);
  const batch = c.batch ?? 1;
  const regMax = c.regMax ?? 16;
  const inC = 4 * regMax + c.nc + c.nm;
  const outC = 4 + c.nc + c.nm;
  const gap = c.gap ?? 0;
  let end = gap;
  const levels: DetectLevel[] = c.levels.map(([h, w, stride]) => {
    const xBase = end;
    end += batch * h * w * inC + gap;
    return { xBase, h, w, stride };
  });
  const p = detectParams(batch, c.nc, c.nm, levels, c.yBase ?? 0);
  const o: Partial<DetectOverrides> = { REG_MAX: regMax, ...(c.jobs ? { JOBS: c.jobs } : {}) };
  const anchors = detectAnchors(p);
  const range = c.range ?? 4;
  const x = h(randomArray(end + 3, seed + 1, -range, range));
  const y0 = h(randomArray(p.yBase + batch * outC * anchors + 5, seed + 2, 1e4, 1e4 + 1));
  const expected = y0.slice();
  detectCpu({ x, y: expected }, p, o);
  if (half) expected.set(roundF16(expected));
  const spec = half ? detectF16 : detect;
  // Split output0 into box channels (0..3) and the rest, each with its tolerance.
  const isBox = (i: number) =>
    i >= p.yBase && i < p.yBase + batch * outC * anchors && Math.floor((i - p.yBase) / anchors) % outC < 4;
  const pick = (a: Float32Array, box: boolean) => a.filter((_, i) => isBox(i) === box);
  const label = `detect ${JSON.stringify(c)}`;
  let y = y0;
  if (c.split) {
    y = (await runKernel(spec, {
      inputs: { x },
      outputs: { y },
      params: p,
      overrides: { ...o, JOBS: 2, PART: 1 },
    })).y;
    assert.deepEqual(pick(y, false), pick(y0, false), `${label}: PART 1 wrote only the box rows`);
  }
  const got = await runKernel(spec, {
    inputs: { x },
    outputs: { y },
    params: p,
    overrides: c.split ? { ...o, PART: 2 } : o,
  });
  assertClose(
    pick(got.y, true),
    pick(expected, true),
    half ? { atol: 0, rtol: 2e-3 } : { atol: 1e-3, rtol: 1e-5 },
    `${label} boxes`,
  );
  assertClose(
    pick(got.y, false),
    pick(expected, false),
    half ? { atol: 1e-3, rtol: 2e-3 } : { atol: 1e-6, rtol: 1e-6 },
    `${label} scores`,
  );
}

const cases: [string, Case][] = [
  ["3 levels, odd maps, batch 2, gaps, output0 offset", {
    batch: 2,
    nc: 3,
    nm: 5,
    levels: [[5, 7, 8], [3, 4, 16], [1, 2, 32]],
    gap: 9,
    yBase: 13,
  }],
  ["Segment nc 80 nm 32 at 128x128", { nc: 80, nm: 32, levels: [[16, 16, 8], [8, 8, 16], [4, 4, 32]] }],
  ["detection only (nm 0), batch 2", { batch: 2, nc: 7, nm: 0, levels: [[4, 4, 8], [2, 2, 16], [1, 1, 32]] }],
  ["one 1x1 level, nc 1", { nc: 1, nm: 0, levels: [[1, 1, 32]] }],
  ["4 levels", { nc: 2, nm: 3, levels: [[6, 5, 4], [3, 3, 8], [2, 2, 16], [1, 1, 32]], gap: 2 }],
  ["REG_MAX 4", { batch: 2, nc: 3, nm: 2, levels: [[3, 2, 8], [2, 1, 16]], regMax: 4 }],
  ["JOBS 16 (software adapters), 114 rows in 8 runs, batch 2", {
    batch: 2,
    nc: 80,
    nm: 32,
    levels: [[4, 4, 8], [2, 2, 16], [1, 1, 32]],
    jobs: 16,
  }],
  ["JOBS 5 over 7 rows, REG_MAX 4", { nc: 3, nm: 2, levels: [[3, 2, 8]], regMax: 4, jobs: 5 }],
  ["split as on software adapters (PART 1 then 2, JOBS 8), batch 2, output0 offset", {
    batch: 2,
    nc: 80,
    nm: 32,
    levels: [[4, 4, 8], [2, 2, 16], [1, 1, 32]],
    jobs: 8,
    yBase: 7,
    split: true,
  }],
  ["split, detection only, JOBS 3 over 5 channel rows", {
    nc: 5,
    nm: 0,
    levels: [[3, 3, 8]],
    jobs: 3,
    split: true,
  }],
  ["wide logits (stable DFL softmax and sigmoid)", {
    nc: 4,
    nm: 4,
    levels: [[4, 3, 8], [2, 2, 16]],
    range: 120,
  }],
];

cases.forEach(([name, c], i) => {
  Deno.test(`detect: ${name}`, () => check(c, 11000 * (i + 1)));
});

cases.forEach(([name, c], i) => {
  Deno.test(`detect_f16: ${name}`, () => check(c, 11000 * (i + 1), true));
});

Deno.test("detect: hand-derived anchor decode", async () => {
  // One 1x2 level, stride 8, REG_MAX 2, nc 1, nm 1. Anchor 1: bins (0, 0) per side -> dist 0.5 each;
  // center (1.5, 0.5) -> box (1.5, 0.5, 1, 1) * 8. Class logit 0 -> 0.5; coefficient 3 copied.
  const inC = 4 * 2 + 1 + 1;
  const x = new Float32Array(2 * inC);
  x.set([0, 0, 0, 0, 0, 0, 0, 0, 0, 3], inC);
  const p = detectParams(1, 1, 1, [{ xBase: 0, h: 1, w: 2, stride: 8 }]);
  const got = await runKernel(detect, {
    inputs: { x },
    outputs: { y: new Float32Array(6 * 2) },
    params: p,
    overrides: { REG_MAX: 2 },
  });
  assert.deepEqual([0, 1, 2, 3, 4, 5].map((ch) => got.y[ch * 2 + 1]), [12, 4, 8, 8, 0.5, 3]);
});

Deno.test("detect: PART is 0, 1 or 2", () => {
  assert.throws(() => detect.validate!({ ...detect.overrides, PART: 3 }), RangeError);
  detect.validate!({ ...detect.overrides, PART: 2 });
});

Deno.test("detect: detectParams rejects 0 or 5 levels", () => {
  const lv = { xBase: 0, h: 1, w: 1, stride: 8 };
  assert.throws(() => detectParams(1, 1, 0, []), RangeError);
  assert.throws(() => detectParams(1, 1, 0, [lv, lv, lv, lv, lv]), RangeError);
});
