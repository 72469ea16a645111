/**
 * copy_channels GPU vs the CPU reference: NHWC slice to slice, NCHW in (network input), NCHW out
 * (output1), channels not divisible by 4, 1x1 maps, odd sizes, batch 2. Exact.
 */
import { copyChannels, copyChannelsF16, type CopyChannelsParams } from "../../kernels/copy_channels.ts";
import { copyChannels as copyChannelsCpu } from "../../src/cpu/copy_channels.ts";
import { assertClose } from "../_close.ts";
import { roundF16, runKernel } from "../_gpu.ts";
import { randomArray } from "../_rand.ts";

interface Case {
  batch?: number;
  h: number;
  w: number;
  c: number;
  inNchw?: boolean;
  outNchw?: boolean;
  wg?: number;
  xView?: [number, number, number];
  yView?: [number, number, number];
}

async function check(c: Case, seed: number, half = false): Promise<void> {
  const h = (a: Float32Array) => (half ? roundF16(a) : a);
  const batch = c.batch ?? 1;
  const [xBase, xExtra, xOff] = c.xView ?? [0, 0, 0];
  const [yBase, yExtra, yOff] = c.yView ?? [0, 0, 0];
  const p: CopyChannelsParams = {
    batch,
    height: c.h,
    width: c.w,
    channels: c.c,
    xBase,
    xStride: c.c + xExtra,
    xOff,
    yBase,
    yStride: c.c + yExtra,
    yOff,
  };
  const o = { IN_NCHW: c.inNchw ? 1 : 0, OUT_NCHW: c.outNchw ? 1 : 0, WG: c.wg ?? 64 };
  const x = h(randomArray(xBase + batch * c.h * c.w * p.xStride + 3, seed + 1));
  const y0 = h(randomArray(yBase + batch * c.h * c.w * p.yStride + 5, seed + 2, 10, 11));
  const expected = y0.slice();
  copyChannelsCpu({ x, y: expected }, p, o);
  if (half) expected.set(roundF16(expected));
  const got = await runKernel(half ? copyChannelsF16 : copyChannels, {
    inputs: { x },
    outputs: { y: y0 },
    params: p,
    overrides: o,
  });
  assertClose(got.y, expected, { atol: 0, rtol: 0 }, `copy_channels ${JSON.stringify(c)}`);
}

const cases: [string, Case][] = [
  ["whole tensor, 16x16x16", { h: 16, w: 16, c: 16 }],
  ["slice to slice, 7 ch, batch 2, odd map", {
    batch: 2,
    h: 5,
    w: 9,
    c: 7,
    xView: [2, 9, 3],
    yView: [6, 5, 5],
  }],
  ["NCHW in (network input, 3 ch)", { batch: 2, h: 7, w: 6, c: 3, inNchw: true }],
  ["NCHW out (output1 slice)", {
    batch: 2,
    h: 4,
    w: 3,
    c: 10,
    outNchw: true,
    xView: [0, 6, 6],
    yView: [5, 2, 1],
  }],
  ["NCHW to NCHW, 1x1 map", { h: 1, w: 1, c: 5, inNchw: true, outNchw: true }],
  ["more than 65535 workgroups (folded dispatch)", { h: 100, w: 100, c: 7, wg: 1, yView: [1, 1, 1] }],
];

cases.forEach(([name, c], i) => {
  Deno.test(`copy_channels: ${name}`, () => check(c, 5000 * (i + 1)));
});

cases.forEach(([name, c], i) => {
  Deno.test(`copy_channels_f16: ${name}`, () => check(c, 5000 * (i + 1), true));
});
