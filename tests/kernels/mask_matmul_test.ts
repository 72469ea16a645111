/**
 * mask_matmul GPU vs the CPU reference: nm 32 on a 160x160-like prototype slice of image 1 of output1,
 * odd pixel counts, one detection, one pixel, nm not a multiple of BK (one and several steps), rows and
 * pixels spanning several tiles, base offsets for all three buffers, other tiles and a folded dispatch.
 * Tolerance: atol 1e-5 + rtol 1e-5 (f32 sums of <= 40 terms).
 */
import { maskMatmul, type MaskMatmulOverrides, type MaskMatmulParams } from "../../kernels/mask_matmul.ts";
import { maskMatmul as maskMatmulCpu } from "../../src/cpu/mask_matmul.ts";
import { assertClose } from "../_close.ts";
import { runKernel } from "../_gpu.ts";
import { randomArray } from "../_rand.ts";

interface Case {
  rows: number;
  pixels: number;
  nm?: number;
  /** Base offsets of x, w and y. */
  bases?: [number, number, number];
  tile?: Partial<MaskMatmulOverrides>;
}

async function check(c: Case, seed: number): Promise<void> {
  const nm = c.nm ?? 32;
  const [xBase, wBase, yBase] = c.bases ?? [0, 0, 0];
  const p: MaskMatmulParams = { rows: c.rows, pixels: c.pixels, nm, xBase, wBase, yBase };
  const x = randomArray(xBase + nm * c.pixels + 3, seed + 1);
  const w = randomArray(wBase + c.rows * nm + 2, seed + 2);
  const y0 = randomArray(yBase + c.rows * c.pixels + 5, seed + 3, 10, 11);
  const expected = y0.slice();
  maskMatmulCpu({ x, w, y: expected }, p);
  const got = await runKernel(maskMatmul, {
    inputs: { x, w },
    outputs: { y: y0 },
    params: p,
    overrides: c.tile,
  });
  assertClose(got.y, expected, { atol: 1e-5, rtol: 1e-5 }, `mask_matmul ${JSON.stringify(c)}`);
}

const cases: [string, Case][] = [
  ["7 detections, 40x40 prototypes of image 1 in output1", {
    rows: 7,
    pixels: 1600,
    bases: [32 * 1600, 0, 0],
  }],
  ["odd pixel count 13x11, 37 rows (two row tiles)", { rows: 37, pixels: 143 }],
  ["one detection", { rows: 1, pixels: 100 }],
  ["one pixel", { rows: 5, pixels: 1 }],
  ["nm 5 (partial step)", { rows: 6, pixels: 30, nm: 5 }],
  ["nm 37 (two steps), base offsets", { rows: 9, pixels: 77, nm: 37, bases: [11, 7, 3] }],
  ["tile 4x4 BK 8, nm 32", { rows: 21, pixels: 90, tile: { WG_M: 4, WG_N: 4, BK: 8 } }],
  ["tile 1x1 BK 3, nm 7", { rows: 3, pixels: 9, nm: 7, tile: { WG_M: 1, WG_N: 1, BK: 3 } }],
  ["more than 65535 pixel tiles (folded dispatch)", {
    rows: 1,
    pixels: 263000,
    nm: 1,
    tile: { WG_M: 1, WG_N: 1, BK: 1 },
  }],
];

cases.forEach(([name, c], i) => {
  Deno.test(`mask_matmul: ${name}`, () => check(c, 13000 * (i + 1)));
});
