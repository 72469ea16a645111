/**
 * to_f32 GPU vs its CPU twin: counts not a multiple of the workgroup or of 2, base offsets on either side, a
 * folded dispatch; values from f16 subnormals to f16's largest values. Exact comparison.
 */
import { toF32 } from "../../kernels/to_f32.ts";
import { toF32 as toF32Cpu } from "../../src/cpu/to_f32.ts";
import { assertClose } from "../_close.ts";
import { roundF16, runKernel } from "../_gpu.ts";
import { randomArray } from "../_rand.ts";

/** Random values times powers of two from 2^-20 to 2^17. */
function spread(n: number, seed: number): Float32Array {
  return randomArray(n, seed, -1, 1).map((x, i) => x * 2 ** ((i % 38) - 20));
}

async function check(count: number, xBase: number, yBase: number, seed: number): Promise<void> {
  const p = { count, xBase, yBase };
  const x = roundF16(spread(xBase + count + 3, seed));
  const y0 = randomArray(yBase + count + 5, seed + 1, 10, 11);
  const expected = y0.slice();
  toF32Cpu({ x, y: expected }, p);
  const got = await runKernel(toF32, { inputs: { x }, outputs: { y: y0 }, params: p });
  assertClose(got.y, expected, { atol: 0, rtol: 0 }, `to_f32 ${JSON.stringify(p)}`);
}

Deno.test("to_f32: 1 element", () => check(1, 0, 0, 1));
Deno.test("to_f32: 1001 elements with base offsets", () => check(1001, 7, 3, 2));
Deno.test("to_f32: more than 65535 workgroups (folded dispatch)", () => check(64 * 65536 + 17, 0, 5, 3));
