/**
 * Spec of `conv2d.wgsl`: general convolution (square kernel, any stride, padding and groups) as an
 * implicit GEMM with a fused bias + activation + residual epilogue, over NHWC (or NCHW) views.
 *
 * Tiling: a workgroup of `WG_M * WG_N` invocations computes `4 * PIX4 * WG_M` output pixels by
 * `4 * CH4 * WG_N` output channels of one group, `BK` reduction elements per step; each invocation holds
 * a `(4 * PIX4) x (4 * CH4)` register tile. With `WG_K > 1` the workgroup holds `WG_K` such groups, each
 * multiplying its own `BK` rows of every step, added up in workgroup memory at the end. {@linkcode conv2dTile} picks a shape from the channel count;
 * {@linkcode conv2dTileCandidates} lists the shapes the executor's autotuner times on a real GPU.
 *
 * @module
 */
import code from "./conv2d.wgsl" with { type: "text" };
import { ceilDiv, f16Variant, fold, type KernelSpec, u32Params } from "./_spec.ts";

/** Names of the `Params` fields of `conv2d.wgsl`, in order. */
export type Conv2dParam =
  | "batch"
  | "inH"
  | "inW"
  | "inC"
  | "outH"
  | "outW"
  | "outC"
  | "groups"
  | "pad"
  | "xBase"
  | "xStride"
  | "xOff"
  | "yBase"
  | "yStride"
  | "yOff"
  | "rBase"
  | "rStride"
  | "rOff"
  | "catBase"
  | "catStride"
  | "catOff"
  | "catC";

/** Names of the overrides of `conv2d.wgsl`. */
export type Conv2dOverride =
  | "ACT"
  | "KSIZE"
  | "STRIDE"
  | "RESIDUAL"
  | "IN_NCHW"
  | "OUT_NCHW"
  | "WG_M"
  | "WG_N"
  | "BK"
  | "PIX4"
  | "CH4"
  | "KSPLIT"
  | "PREFETCH"
  | "BUFFERS"
  | "WG_K"
  | "VEC_A"
  | "PRE_K"
  | "PRE_ACT"
  | "POST_N"
  | "POST_ACT"
  | "POST_CAT"
  | "POST_ROWS"
  | "UP_R"
  | "R_IN_Y";

/** Params values of a conv2d dispatch. `inC`/`outC` are totals over all groups. */
export type Conv2dParams = Record<Conv2dParam, number>;

/** Override values of a conv2d pipeline (booleans as 0/1). */
export type Conv2dOverrides = Record<Conv2dOverride, number>;

/**
 * The conv2d kernel: bindings x, w (packed), b, r (residual, or with `UP_R` > 0 the nearest-upsampled copy of
 * y it writes; a 4-byte dummy when neither), y, p (split-K
 * partial sums `[KSPLIT][pixels][outC]` f32, a dummy when KSPLIT is 1), x4 (x's buffer again, read as vec4s
 * with `VEC_A`; a dummy otherwise), aux (the depthwise pre-conv's weights and bias with `PRE_K` > 0, packed by
 * {@linkcode packConv2dPreWeight}; the 1x1 post-conv's with `POST_N` > 0, packed by
 * {@linkcode packConv2dPostWeight}, y then taking its `POST_N` channels and the tile all `outC` channels, see
 * {@linkcode conv2dPostTiles}; with both, the pre-conv's packing followed by the post-conv's; a dummy otherwise),
 * params. With `POST_CAT` 1 the post-conv's input is `catC` channels of r's buffer (view `catBase`,
 * `catStride`, `catOff`) followed by the tile's (2: after the tile's), its weights `[POST_N, catC + outC, 1, 1]`
 * in that order, and `RESIDUAL` adds r to the tile, before the post-conv. With `R_IN_Y` r's view lies in y's buffer
 * and is read through y (r bound to a dummy): WebGPU forbids binding one buffer twice where one binding is
 * writable. With `KSPLIT > 1` the kernel writes only p;
 * `conv2d_splitk_reduce` then writes y.
 */
export const conv2d: KernelSpec<Conv2dParam, Conv2dOverride> = {
  name: "conv2d",
  code,
  bindings: [
    { name: "x", access: "read" },
    { name: "w", access: "read" },
    { name: "b", access: "read" },
    // Read, or written with UP_R.
    { name: "r", access: "read_write" },
    { name: "y", access: "read_write" },
    { name: "p", access: "read_write", f32: true },
    { name: "x4", access: "read" },
    { name: "aux", access: "read" },
    { name: "params", access: "uniform" },
  ],
  params: u32Params<Conv2dParam>(
    "batch",
    "inH",
    "inW",
    "inC",
    "outH",
    "outW",
    "outC",
    "groups",
    "pad",
    "xBase",
    "xStride",
    "xOff",
    "yBase",
    "yStride",
    "yOff",
    "rBase",
    "rStride",
    "rOff",
    "catBase",
    "catStride",
    "catOff",
    "catC",
  ),
  overrides: {
    ACT: 0,
    KSIZE: 3,
    STRIDE: 1,
    RESIDUAL: 0,
    IN_NCHW: 0,
    OUT_NCHW: 0,
    WG_M: 16,
    WG_N: 16,
    BK: 16,
    PIX4: 1,
    CH4: 1,
    KSPLIT: 1,
    PREFETCH: 0,
    BUFFERS: 1,
    WG_K: 1,
    VEC_A: 0,
    PRE_K: 0,
    PRE_ACT: 0,
    POST_N: 0,
    POST_ACT: 0,
    POST_CAT: 0,
    POST_ROWS: 1,
    UP_R: 0,
    R_IN_Y: 0,
  },
  dispatch(p, o) {
    const tilesM = ceilDiv(p.batch * p.outH * p.outW, 4 * o.PIX4 * o.WG_M);
    const tilesN = ceilDiv(p.outC / p.groups, 4 * o.CH4 * o.WG_N);
    const [x, z] = fold(tilesM);
    return [x, tilesN * p.groups * o.KSPLIT, z];
  },
  validate(o) {
    const nt = o.WG_M * o.WG_N;
    if (!(o.ACT === 0 || o.ACT === 1)) {
      throw new RangeError(`Set conv2d ACT to 0 (none) or 1 (SiLU): got ${o.ACT}`);
    }
    if (!(o.KSIZE >= 1 && o.STRIDE >= 1 && o.BK >= 1 && nt >= 1)) {
      throw new RangeError(`Give conv2d positive KSIZE, STRIDE, BK, WG_M and WG_N`);
    }
    if (o.BK % 4 !== 0) {
      throw new RangeError(`Make conv2d BK a multiple of 4: got ${o.BK}`);
    }
    if (nt % o.BK !== 0) {
      throw new RangeError(`Make conv2d WG_M * WG_N a multiple of BK: ${nt} and ${o.BK}`);
    }
    if (!(Number.isInteger(o.KSPLIT) && o.KSPLIT >= 1)) {
      throw new RangeError(`Give conv2d a whole KSPLIT >= 1: got ${o.KSPLIT}`);
    }
    if (!(o.PIX4 === 1 || o.PIX4 === 2) || !(o.CH4 === 1 || o.CH4 === 2)) {
      throw new RangeError(`Set conv2d PIX4 and CH4 to 1 or 2: got ${o.PIX4} and ${o.CH4}`);
    }
    if (o.PREFETCH && !conv2dPrefetchFits(o)) {
      throw new RangeError(
        `Give conv2d PREFETCH a tile with 1, 2, 4 or 8 A loads and at most 4 B loads per invocation`,
      );
    }
    if (!(o.BUFFERS === 1 || o.BUFFERS === 2)) {
      throw new RangeError(`Set conv2d BUFFERS to 1 or 2: got ${o.BUFFERS}`);
    }
    if (!(Number.isInteger(o.WG_K) && o.WG_K >= 1)) {
      throw new RangeError(`Give conv2d a whole WG_K >= 1: got ${o.WG_K}`);
    }
    if (o.VEC_A && (o.PREFETCH || o.IN_NCHW)) {
      throw new RangeError("Give conv2d VEC_A an NHWC input and no PREFETCH");
    }
    if (!(Number.isInteger(o.PRE_K) && o.PRE_K >= 0 && (o.PRE_K === 0 || o.PRE_K % 2 === 1))) {
      throw new RangeError(`Give conv2d PRE_K 0 (none) or an odd depthwise window: got ${o.PRE_K}`);
    }
    if (o.PRE_K > 0 && (o.KSIZE !== 1 || o.STRIDE !== 1 || o.IN_NCHW)) {
      throw new RangeError("Give conv2d PRE_K a 1x1, stride-1 conv over an NHWC input");
    }
    if (!(o.PRE_ACT === 0 || o.PRE_ACT === 1)) {
      throw new RangeError(`Set conv2d PRE_ACT to 0 (none) or 1 (SiLU): got ${o.PRE_ACT}`);
    }
    if (!(Number.isInteger(o.POST_N) && o.POST_N >= 0) || !(o.POST_ACT === 0 || o.POST_ACT === 1)) {
      throw new RangeError(
        `Give conv2d a whole POST_N >= 0 and POST_ACT 0 or 1: got ${o.POST_N}, ${o.POST_ACT}`,
      );
    }
    if (!(Number.isInteger(o.UP_R) && o.UP_R >= 0) || (o.UP_R > 0 && o.RESIDUAL)) {
      throw new RangeError(`Give conv2d a whole UP_R >= 0, and no RESIDUAL with UP_R > 0: got ${o.UP_R}`);
    }
    if (![0, 1, 2].includes(o.POST_CAT) || (o.POST_CAT && (o.POST_N === 0 || o.UP_R > 0 || o.OUT_NCHW))) {
      throw new RangeError(
        "Give conv2d POST_CAT 0, 1 or 2, and with 1 or 2 a post-conv (POST_N > 0), an NHWC output and no UP_R (both use r)",
      );
    }
    if (o.R_IN_Y && (o.UP_R > 0 || !(o.RESIDUAL || o.POST_CAT))) {
      throw new RangeError("Give conv2d R_IN_Y a residual or concat value to read through y, and no UP_R");
    }
    if (!(o.POST_ROWS === 1 || o.POST_ROWS === 4)) {
      throw new RangeError(`Set conv2d POST_ROWS to 1 or 4: got ${o.POST_ROWS}`);
    }
    if (o.POST_N > 0 && o.KSPLIT !== 1) {
      throw new RangeError("Give conv2d POST_N no split reduction (KSPLIT 1)");
    }
    if (!conv2dParkFits(o)) {
      throw new RangeError(
        `Give conv2d WG_K ${o.WG_K} a tile whose workgroup tiles hold the other groups' register tiles`,
      );
    }
  },
};

/**
 * A tile shape for conv2d: the `WG_M`, `WG_N`, `BK` overrides, and `PIX4`, `CH4`, `KSPLIT` (1 when
 * absent; `KSPLIT > 1` also needs a `conv2d_splitk_reduce` dispatch and a partial-sum buffer) and
 * `PREFETCH` (0 when absent) and `BUFFERS` (1 when absent: 2 double-buffers the workgroup tiles) and `WG_K`
 * (1 when absent: invocation groups along the reduction, `WG_M * WG_N * WG_K` invocations) and `VEC_A` (0 when
 * absent: A staged as vec4s) and `POST_ROWS` (1 when absent: tile rows per work item of a fused post-conv, or 4).
 * `HALF_MATH` is no override: 1 runs the tile on {@linkcode conv2dF16Math} (f16 arithmetic) instead, in half
 * mode.
 */
export interface Conv2dTile {
  WG_M: number;
  WG_N: number;
  BK: number;
  PIX4?: number;
  CH4?: number;
  KSPLIT?: number;
  PREFETCH?: number;
  BUFFERS?: number;
  WG_K?: number;
  HALF_MATH?: number;
  VEC_A?: number;
  POST_ROWS?: number;
}

/**
 * Whether a tile can prefetch (`PREFETCH`): each invocation stages exactly 1, 2, 4 or 8 A values and at most
 * 4 B vec4s per reduction step (the shader's named prefetch registers).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { conv2dPrefetchFits } from "./conv2d.ts";
 * assert.ok(conv2dPrefetchFits({ WG_M: 16, WG_N: 16, BK: 16 })); // 4 A values, 1 B vec4
 * assert.ok(!conv2dPrefetchFits({ WG_M: 64, WG_N: 1, BK: 16, PIX4: 2 })); // 128 A values
 * assert.ok(!conv2dPrefetchFits({ WG_M: 4, WG_N: 8, BK: 32 })); // 16 A values
 * ```
 */
export function conv2dPrefetchFits(t: Conv2dTile): boolean {
  const nt = t.WG_M * t.WG_N;
  const aValues = 4 * (t.PIX4 ?? 1) * t.WG_M * t.BK;
  return nt % t.BK === 0 && aValues % nt === 0 && [1, 2, 4, 8].includes(aValues / nt) &&
    Math.ceil(t.BK * (t.CH4 ?? 1) * t.WG_N / nt) <= 4;
}

/**
 * The double-buffered (`BUFFERS: 2`) variants of the given 4x4-register tiles, plain and prefetching where
 * that fits, within `maxWorkgroupBytes`: the next reduction step is staged into the second buffer while this
 * one's products run, one barrier per step instead of two. What the autotuner adds to each layer's
 * single-pass candidates.
 *
 * @param tiles Tiles to vary.
 * @param maxWorkgroupBytes The device's `maxComputeWorkgroupStorageSize`. @default {16384}
 * @returns Copies with `BUFFERS: 2` (and some also with `PREFETCH: 1`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { conv2dBufferCandidates } from "./conv2d.ts";
 * const tile = { WG_M: 16, WG_N: 16, BK: 16 };
 * assert.deepEqual(conv2dBufferCandidates([tile], 32768), [
 *   { ...tile, BUFFERS: 2 },
 *   { ...tile, BUFFERS: 2, PREFETCH: 1 },
 * ]);
 * ```
 */
export function conv2dBufferCandidates<T extends Conv2dTile>(
  tiles: readonly T[],
  maxWorkgroupBytes = 16384,
): T[] {
  const out: T[] = [];
  for (const t of tiles) {
    if ((t.PIX4 ?? 1) !== 1 || (t.CH4 ?? 1) !== 1 || (t.KSPLIT ?? 1) !== 1) continue;
    const double = { ...t, BUFFERS: 2 };
    if (conv2dTileBytes(double) > maxWorkgroupBytes) continue;
    out.push(double);
    if (conv2dPrefetchFits(double)) out.push({ ...double, PREFETCH: 1 });
  }
  return out;
}

/**
 * The `PREFETCH` variants of the given tiles that can prefetch ({@linkcode conv2dPrefetchFits}): what the
 * autotuner adds for the heuristic tile and the split-K candidates, the layers most bound by load latency.
 *
 * @param tiles Tiles to vary.
 * @returns Copies with `PREFETCH: 1`, the others left out.
 */
export function conv2dPrefetchCandidates<T extends Conv2dTile>(tiles: readonly T[]): T[] {
  return tiles.filter(conv2dPrefetchFits).map((t) => ({ ...t, PREFETCH: 1 }));
}

/**
 * The `BK = 32` variants of the given 4x4-register tiles (twice the reduction depth per step: half the
 * barriers and staging rounds per multiply-add) for a layer whose reduction spans at least 4 such steps,
 * within `maxWorkgroupBytes`: what the autotuner adds to each layer's single-pass candidates. Only 4x4 tiles:
 * on the H200 every layer that chose BK 32 (72 of 691 layer shapes, scales n to x, batch 1 and 32) chose a
 * 4x4 one, and the other variants doubled the cold tuning time (21.7 -> 43.3 s for YOLO11n at 640).
 *
 * @param tiles Tiles to vary (their own `BK` is replaced).
 * @param kTotal Reduction length (`KSIZE * KSIZE * cin / groups`).
 * @param maxWorkgroupBytes The device's `maxComputeWorkgroupStorageSize`. @default {16384}
 * @returns Copies with `BK: 32` that fit; none when the reduction is shorter than 128.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { conv2dDepthCandidates } from "./conv2d.ts";
 * const tile = { WG_M: 16, WG_N: 16, BK: 16 };
 * assert.deepEqual(conv2dDepthCandidates([tile], 576, 32768), [{ ...tile, BK: 32 }]);
 * assert.deepEqual(conv2dDepthCandidates([tile], 64, 32768), []); // 2 steps of 32 only
 * assert.deepEqual(conv2dDepthCandidates([{ ...tile, PIX4: 2 }], 576, 32768), []); // 8x4 register tile
 * ```
 */
export function conv2dDepthCandidates<T extends Conv2dTile>(
  tiles: readonly T[],
  kTotal: number,
  maxWorkgroupBytes = 16384,
): T[] {
  if (kTotal < 4 * 32) return [];
  return tiles.filter((t) => (t.PIX4 ?? 1) === 1 && (t.CH4 ?? 1) === 1).map((t) => ({ ...t, BK: 32 }))
    .filter((t) => (t.WG_M * t.WG_N) % 32 === 0 && conv2dTileBytes(t) <= maxWorkgroupBytes);
}

/**
 * Workgroup-memory bytes a conv2d tile needs: the A and B tiles (`BUFFERS` of each, `BK * WG_K` rows deep),
 * the pixel table, and the post-conv tile's one-element stand-in (16 bytes; {@linkcode conv2dPostBytes} adds
 * the rest of that tile where there is a post-conv). Exactly what Dawn counts against the limit.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { conv2dTileBytes } from "./conv2d.ts";
 * assert.equal(conv2dTileBytes({ WG_M: 16, WG_N: 16, BK: 16 }), 16 * 17 * 16 + 16 * 16 * 16 + 64 * 16 + 16);
 * assert.equal(conv2dTileBytes({ WG_M: 4, WG_N: 8, BK: 16, WG_K: 4 }), 16 * (64 * 5 + 64 * 8 + 16 + 1));
 * // Dawn: "The total use of workgroup storage (34832 bytes)" for this one.
 * assert.equal(conv2dTileBytes({ WG_M: 16, WG_N: 16, BK: 32, BUFFERS: 2 }), 34832);
 * ```
 */
export function conv2dTileBytes(t: Conv2dTile): number {
  const pix4 = t.PIX4 ?? 1;
  const ch4 = t.CH4 ?? 1;
  const buffers = t.BUFFERS ?? 1;
  const depth = t.BK * (t.WG_K ?? 1);
  return 16 * (buffers * (depth * (pix4 * t.WG_M + 1) + depth * ch4 * t.WG_N) + 4 * pix4 * t.WG_M + 1);
}

/**
 * Whether the workgroup tiles of a `WG_K > 1` tile can hold the register tiles that invocation groups
 * 1 .. `WG_K - 1` park there for group 0 to add up (always true for `WG_K` 1).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { conv2dParkFits } from "./conv2d.ts";
 * assert.ok(conv2dParkFits({ WG_M: 4, WG_N: 8, BK: 16, WG_K: 8 }));
 * assert.ok(!conv2dParkFits({ WG_M: 16, WG_N: 16, BK: 16, PIX4: 2, CH4: 2, WG_K: 2 }));
 * ```
 */
export function conv2dParkFits(t: Conv2dTile): boolean {
  const pix4 = t.PIX4 ?? 1;
  const ch4 = t.CH4 ?? 1;
  const wgK = t.WG_K ?? 1;
  const tiles = (t.BUFFERS ?? 1) * t.BK * wgK * (pix4 * t.WG_M + 1 + ch4 * t.WG_N);
  return (wgK - 1) * 4 * pix4 * ch4 * t.WG_M * t.WG_N <= tiles;
}

/**
 * The tile shapes worth timing for one conv2d layer on a real GPU (the executor's autotuner runs each
 * and keeps the fastest): the heuristic {@linkcode conv2dTile} first, then workgroups of 64 to 256
 * invocations with 4x4, 8x4 and 4x8 register tiles (BK 16; 8x8 ones won no layer of 691 on the H200, scales n to x
 * at batch 1 and 32, so they are not tried, though the kernel runs them), no wider in channels than the layer
 * needs, giving at least `minWorkgroups` workgroups (when any shape does), within `maxWorkgroupBytes`
 * of workgroup memory and `maxInvocations`.
 *
 * @param coutPerGroup Output channels per group.
 * @param pixels Output pixels (`batch * outH * outW`).
 * @param groups Groups. @default {1}
 * @param targetWorkgroups Workgroups the heuristic aims for. @default {264}
 * @param maxWorkgroupBytes The device's `maxComputeWorkgroupStorageSize`. @default {16384}
 * @param maxInvocations The device's `maxComputeInvocationsPerWorkgroup`. @default {256}
 * @param minWorkgroups Fewest workgroups a shape must give to be tried. @default {32}
 * @returns Distinct tiles, the heuristic's first.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { conv2dTile, conv2dTileCandidates } from "./conv2d.ts";
 * const tiles = conv2dTileCandidates(64, 6400);
 * assert.deepEqual(tiles[0], { ...conv2dTile(64, 6400), PIX4: 1, CH4: 1 });
 * assert.ok(tiles.length > 4 && tiles.some((t) => t.PIX4 === 2) && tiles.some((t) => t.CH4 === 2));
 * ```
 */
export function conv2dTileCandidates(
  coutPerGroup: number,
  pixels: number,
  groups = 1,
  targetWorkgroups = 264,
  maxWorkgroupBytes = 16384,
  maxInvocations = 256,
  minWorkgroups = 32,
): Conv2dTile[] {
  const out: Conv2dTile[] = [];
  const seen = new Set<string>();
  const workgroups = (
    t: Required<
      Omit<Conv2dTile, "KSPLIT" | "PREFETCH" | "BUFFERS" | "WG_K" | "HALF_MATH" | "VEC_A" | "POST_ROWS">
    >,
  ) => ceilDiv(pixels, 4 * t.PIX4 * t.WG_M) * ceilDiv(coutPerGroup, 4 * t.CH4 * t.WG_N) * groups;
  const fits = (
    t: Required<
      Omit<Conv2dTile, "KSPLIT" | "PREFETCH" | "BUFFERS" | "WG_K" | "HALF_MATH" | "VEC_A" | "POST_ROWS">
    >,
  ) => {
    const nt = t.WG_M * t.WG_N;
    return nt <= maxInvocations && nt % t.BK === 0 && conv2dTileBytes(t) <= maxWorkgroupBytes;
  };
  const first = conv2dTile(coutPerGroup, pixels, groups, targetWorkgroups);
  const shapes: Required<
    Omit<Conv2dTile, "KSPLIT" | "PREFETCH" | "BUFFERS" | "WG_K" | "HALF_MATH" | "VEC_A" | "POST_ROWS">
  >[] = [{
    ...first,
    PIX4: 1,
    CH4: 1,
  }];
  // Channel vec4s a tile may span: the layer's channels rounded up to 16.
  const maxCh4 = Math.max(4, ceilDiv(coutPerGroup, 16) * 4);
  for (const [pix4, ch4] of [[1, 1], [2, 1], [1, 2]]) {
    for (const [wgM, wgN] of [[16, 4], [8, 8], [32, 4], [16, 8], [8, 16], [32, 8], [16, 16]]) {
      if (wgN * ch4 <= maxCh4) shapes.push({ WG_M: wgM, WG_N: wgN, BK: 16, PIX4: pix4, CH4: ch4 });
    }
  }
  const most = Math.max(...shapes.filter(fits).map(workgroups));
  for (const t of shapes) {
    const key = JSON.stringify(t);
    // The heuristic's own tile stays (the baseline); others must give enough workgroups.
    if (seen.has(key) || !fits(t) || (t !== shapes[0] && workgroups(t) < Math.min(minWorkgroups, most))) {
      continue;
    }
    seen.add(key);
    out.push(t);
  }
  return out;
}

/**
 * Picks the conv2d tile for a layer. Channels first: the tile is as wide as the output channels
 * per group need (16, 32 or 64 channels) with 256 invocations; then, while the grid would have
 * fewer than `targetWorkgroups` workgroups (small maps at batch 1 would leave most of a large GPU
 * idle), the tile shrinks along pixels down to 16 pixels, then along channels while a workgroup
 * keeps at least 32 invocations (one warp).
 *
 * @param coutPerGroup Output channels per group.
 * @param pixels Output pixels (`batch * outH * outW`). @default {Infinity}
 * @param groups Groups (each is its own column of workgroups). @default {1}
 * @param targetWorkgroups Workgroups wanted to fill the device. @default {264}
 * @returns The `WG_M`, `WG_N`, `BK` overrides.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { conv2dTile } from "./conv2d.ts";
 * assert.deepEqual(conv2dTile(64), { WG_M: 16, WG_N: 16, BK: 16 });
 * assert.deepEqual(conv2dTile(16), { WG_M: 64, WG_N: 4, BK: 16 });
 * assert.deepEqual(conv2dTile(256, 20 * 20), { WG_M: 4, WG_N: 8, BK: 16 });
 * ```
 */
export function conv2dTile(
  coutPerGroup: number,
  pixels = Infinity,
  groups = 1,
  targetWorkgroups = 264,
): Conv2dTile {
  let wgN = coutPerGroup <= 16 ? 4 : coutPerGroup <= 32 ? 8 : 16;
  let wgM = 256 / wgN;
  const workgroups = () => ceilDiv(pixels, 4 * wgM) * ceilDiv(coutPerGroup, 4 * wgN) * groups;
  while (wgM > 4 && workgroups() < targetWorkgroups) wgM /= 2;
  while (wgN > 4 && wgM * wgN > 32 && workgroups() < targetWorkgroups) wgN /= 2;
  return { WG_M: wgM, WG_N: wgN, BK: 16 };
}

/** Output size of a convolution along one axis: `floor((size + 2 * pad - k) / stride) + 1`. */
export function convOutSize(size: number, k: number, stride: number, pad: number): number {
  return Math.floor((size + 2 * pad - k) / stride) + 1;
}

/**
 * Repacks PyTorch conv weights `[cout, cinPerGroup, k, k]` (BatchNorm already folded) into the
 * GPU layout `[group][(ky * k + kx) * cinPerGroup + ci][ceil(coutPerGroup / 4) * 4]`: the
 * reduction index runs channel-fastest like the NHWC input, and each row of output channels is
 * zero-padded to whole vec4s.
 *
 * @param w Weights in PyTorch order.
 * @param shape `[cout, cinPerGroup, kh, kw]` with `kh == kw`.
 * @param groups Number of groups (must divide `cout`).
 * @returns The packed weights.
 * @throws {RangeError} When the shape does not match `w` or the kernel is not square.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { packConv2dWeight } from "./conv2d.ts";
 * // 2 output channels, 1 input channel, 1x1: one k row padded to a vec4.
 * assert.deepEqual([...packConv2dWeight(new Float32Array([5, 7]), [2, 1, 1, 1])], [5, 7, 0, 0]);
 * ```
 */
export function packConv2dWeight(
  w: Float32Array,
  shape: readonly [number, number, number, number],
  groups = 1,
): Float32Array {
  const [cout, cinG, kh, kw] = shape;
  if (kh !== kw) throw new RangeError(`Use a square conv2d kernel: got ${kh}x${kw}`);
  if (w.length !== cout * cinG * kh * kw) {
    throw new RangeError(`Give conv2d weights of shape [${shape.join(", ")}]: got ${w.length} values`);
  }
  if (groups < 1 || cout % groups !== 0) {
    throw new RangeError(`Use a group count that divides cout ${cout}: got ${groups}`);
  }
  const coutG = cout / groups;
  const row = ceilDiv(coutG, 4) * 4;
  const kTotal = kh * kw * cinG;
  const out = new Float32Array(groups * kTotal * row);
  for (let co = 0; co < cout; co++) {
    const g = Math.floor(co / coutG);
    const n = co % coutG;
    for (let ci = 0; ci < cinG; ci++) {
      for (let t = 0; t < kh * kw; t++) {
        out[(g * kTotal + t * cinG + ci) * row + n] = w[(co * cinG + ci) * kh * kw + t];
      }
    }
  }
  return out;
}

/**
 * Packs a depthwise conv's PyTorch weights `[c, 1, k, k]` and bias for conv2d's fused pre-conv (`PRE_K`):
 * `[ky * k + kx][ceil(c / 4) * 4]` (channel-fastest, zero-padded to whole vec4s), then the bias as one more
 * such row.
 *
 * @param w Weights in PyTorch order.
 * @param shape `[c, 1, k, k]`.
 * @param bias The bias (`c` values).
 * @returns The packed weights and bias.
 * @throws {RangeError} When the shapes do not match.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { packConv2dPreWeight } from "./conv2d.ts";
 * const packed = packConv2dPreWeight(new Float32Array([1, 2]), [2, 1, 1, 1], new Float32Array([3, 4]));
 * assert.deepEqual([...packed], [1, 2, 0, 0, 3, 4, 0, 0]);
 * ```
 */
export function packConv2dPreWeight(
  w: Float32Array,
  shape: readonly [number, number, number, number],
  bias: Float32Array,
): Float32Array {
  const [c, one, kh, kw] = shape;
  if (one !== 1 || kh !== kw || w.length !== c * kh * kw) {
    throw new RangeError(`Give depthwise weights of shape [c, 1, k, k]: got [${shape.join(", ")}]`);
  }
  if (bias.length !== c) throw new RangeError(`Give a depthwise bias of ${c} values: got ${bias.length}`);
  return channelRowsWithBias(w, c, kh * kw, bias);
}

/**
 * Packs a 1x1 conv's PyTorch weights `[cout, cin, 1, 1]` and bias for conv2d's fused post-conv (`POST_N`):
 * `[ci][ceil(cout / 4) * 4]` (output-channel-fastest, zero-padded to whole vec4s), then the bias as one more
 * such row.
 *
 * @param w Weights in PyTorch order.
 * @param shape `[cout, cin, 1, 1]`.
 * @param bias The bias (`cout` values).
 * @returns The packed weights and bias.
 * @throws {RangeError} When the shapes do not match.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { packConv2dPostWeight } from "./conv2d.ts";
 * // 2 outputs from 1 input channel.
 * const packed = packConv2dPostWeight(new Float32Array([5, 7]), [2, 1, 1, 1], new Float32Array([3, 4]));
 * assert.deepEqual([...packed], [5, 7, 0, 0, 3, 4, 0, 0]);
 * ```
 */
export function packConv2dPostWeight(
  w: Float32Array,
  shape: readonly [number, number, number, number],
  bias: Float32Array,
): Float32Array {
  const [cout, cin, kh, kw] = shape;
  if (kh !== 1 || kw !== 1 || w.length !== cout * cin) {
    throw new RangeError(`Give 1x1 weights of shape [cout, cin, 1, 1]: got [${shape.join(", ")}]`);
  }
  if (bias.length !== cout) {
    throw new RangeError(`Give a post-conv bias of ${cout} values: got ${bias.length}`);
  }
  return channelRowsWithBias(w, cout, cin, bias);
}

/**
 * `w` as `[channels][rows]` transposed to `rows` rows of `channels` values (zero-padded to whole vec4s), then
 * `bias` as one more such row: the aux packings of conv2d's pre- and post-convs.
 */
function channelRowsWithBias(
  w: Float32Array,
  channels: number,
  rows: number,
  bias: Float32Array,
): Float32Array {
  const row = ceilDiv(channels, 4) * 4;
  const out = new Float32Array((rows + 1) * row);
  for (let ch = 0; ch < channels; ch++) {
    for (let r = 0; r < rows; r++) out[r * row + ch] = w[ch * rows + r];
    out[rows * row + ch] = bias[ch];
  }
  return out;
}

/**
 * The conv2d tiles a layer with a fused 1x1 post-conv (`POST_N`) can run: one tile along the output channels
 * (`4 * CH4 * WG_N >= cout`, the post-conv needs them all), no split reduction, the layer's tile kept in
 * workgroup memory besides the staging tiles; within `maxWorkgroupBytes` and `maxInvocations`. The first is
 * the heuristic choice: the largest pixel tile that still gives `targetWorkgroups / 2` workgroups, else the one
 * giving the most.
 *
 * @param cout The layer's own output channels (the post-conv's input).
 * @param pixels Output pixels (all images).
 * @param targetWorkgroups Workgroups that fill the device. @default {264}
 * @param maxWorkgroupBytes The device's `maxComputeWorkgroupStorageSize`. @default {16384}
 * @param maxInvocations The device's `maxComputeInvocationsPerWorkgroup`. @default {256}
 * @returns Tiles (empty when the channels do not fit one tile).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { conv2dPostTiles } from "./conv2d.ts";
 * const tiles = conv2dPostTiles(64, 6400, 264, 49152, 1024);
 * assert.ok(tiles.length > 4 && tiles.every((t) => 4 * (t.CH4 ?? 1) * t.WG_N >= 64));
 * assert.deepEqual(conv2dPostTiles(4096, 400), []);
 * ```
 */
export function conv2dPostTiles(
  cout: number,
  pixels: number,
  targetWorkgroups = 264,
  maxWorkgroupBytes = 16384,
  maxInvocations = 256,
): Required<Conv2dTile>[] {
  const tiles: Required<Conv2dTile>[] = [];
  for (const ch4 of [1, 2]) {
    const wgN = ceilDiv(cout, 4 * ch4);
    for (const pix4 of [1, 2]) {
      for (const wgM of [32, 16, 8, 4]) {
        const nt = wgM * wgN;
        if (nt > maxInvocations) continue;
        // The deepest reduction step that divides the invocations and fits (shallower steps stage less).
        for (const bk of [16, 8, 4]) {
          const t = conv2dFullTile({ WG_M: wgM, WG_N: wgN, BK: bk, PIX4: pix4, CH4: ch4 });
          if (nt % bk === 0 && conv2dTileBytes(t) + conv2dPostBytes(t) <= maxWorkgroupBytes) {
            tiles.push(t);
            break;
          }
        }
      }
    }
  }
  const workgroups = (t: Conv2dTile) => ceilDiv(pixels, 4 * (t.PIX4 ?? 1) * t.WG_M);
  const pixelsPer = (t: Conv2dTile) => 4 * (t.PIX4 ?? 1) * t.WG_M;
  const enough = tiles.filter((t) => workgroups(t) >= targetWorkgroups / 2)
    .sort((a, b) => pixelsPer(b) - pixelsPer(a) || (a.CH4 ?? 1) - (b.CH4 ?? 1));
  const most = [...tiles].sort((a, b) => workgroups(b) - workgroups(a) || (a.CH4 ?? 1) - (b.CH4 ?? 1));
  const first = enough[0] ?? most[0];
  return first ? [first, ...tiles.filter((t) => t !== first)] : [];
}

/**
 * Tile rows per post-conv work item for a tile and a post-conv of `postN` channels (`POST_ROWS`): 4 (each weight
 * vec4 loaded serves four pixels) when the work items of four rows still give every invocation one, else 1. On
 * lavapipe (YOLO11n-seg's hardware plan at 1x128x128, untuned, three rounds of 5 forwards) this took the folded
 * forward from 11% slower than the unfolded one (773 vs 699 ms) to 4% faster (714 vs 741 ms).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { conv2dPostRows } from "./conv2d.ts";
 * assert.equal(conv2dPostRows({ WG_M: 16, WG_N: 16, BK: 16 }, 64), 4); // 16 row groups x 16 vec4s: 256 items
 * assert.equal(conv2dPostRows({ WG_M: 4, WG_N: 16, BK: 16, WG_K: 4 }, 64), 1); // 64 items, 256 invocations
 * ```
 */
export function conv2dPostRows(t: Conv2dTile, postN: number): number {
  const items = (t.PIX4 ?? 1) * t.WG_M * ceilDiv(postN, 4);
  return items >= t.WG_M * t.WG_N * (t.WG_K ?? 1) ? 4 : 1;
}

/**
 * The most output channels a conv carrying a fused 1x1 post-conv should have: its tile must span all of them,
 * so wider layers (YOLO11n's 256-channel convs on 20x20 maps) would run in a few dozen workgroups where their
 * split tiles (split-K, several channel tiles) use hundreds.
 */
export const POST_CONV_MAX_CHANNELS = 128;

/**
 * The most output pixels (all images) a conv carrying a fused 1x1 post-conv has by default. A fold saves one
 * dispatch (~15 us on the H200, where the small layers take little more), while its tile spans all channels
 * and its post-conv is a loop per workgroup (`POST_ROWS` rows per work item): for the large layers of large
 * batches the separately tiled 1x1 conv may be the faster (not measured yet). 32768 keeps every fold of a
 * 640x640 image at batch 1 (the largest, model.1 + model.2.cv1, has 160x160 = 25600 pixels) and drops that one
 * from batch 2; the fold kind `large` (which the fold tuner tries) makes the larger ones too.
 */
export const POST_FOLD_MAX_PIXELS = 32768;

/**
 * Bytes of workgroup memory the layer's own tile takes with a fused post-conv (BM x BN f32) beyond the
 * 16-byte stand-in {@linkcode conv2dTileBytes} counts.
 */
export function conv2dPostBytes(t: Conv2dTile): number {
  return 4 * (4 * (t.PIX4 ?? 1) * t.WG_M) * (4 * (t.CH4 ?? 1) * t.WG_N) - 16;
}

/** `conv2d` with f16 activations (its `.wgsl` made f16 by `f16Variant`), for devices with `shader-f16`. */
export const conv2dF16: typeof conv2d = f16Variant(conv2d);

/**
 * `conv2d_f16` with f16 arithmetic (`HALF_MATH`): tiles in workgroup memory and the products of each
 * reduction step in f16 (packed f16 FMAs where the GPU has them), each step's sums added to f32
 * accumulators. Its `.wgsl` is `conv2d.wgsl` with `alias T = S;` and `const HALF_MATH = true;` (derived here
 * so the two cannot drift). `WG_K` must be 1 (other invocation groups park f32 sums in the f32 tiles only).
 * The autotuner offers it in half mode as a variant of each layer's fastest tiles ({@linkcode Conv2dTile}'s
 * `HALF_MATH`).
 */
export const conv2dF16Math: typeof conv2d = (() => {
  const types = /^alias T = f32;$/m, flag = /^const HALF_MATH = false;$/m;
  if (!types.test(conv2dF16.code) || !flag.test(conv2dF16.code)) {
    throw new TypeError("conv2d.wgsl lost its `alias T = f32;` or `const HALF_MATH = false;` line");
  }
  return {
    ...conv2dF16,
    name: "conv2d_f16_math",
    code: conv2dF16.code.replace(types, "alias T = S;").replace(flag, "const HALF_MATH = true;"),
    validate(o) {
      conv2dF16.validate!(o);
      if (o.WG_K !== 1) throw new RangeError(`Give conv2d_f16_math WG_K 1: got ${o.WG_K}`);
    },
  };
})();

/** A tile with every optional field set: its own values, else the defaults (1, or 0 for the switches). */
export function conv2dFullTile(t: Conv2dTile): Required<Conv2dTile> {
  return {
    WG_M: t.WG_M,
    WG_N: t.WG_N,
    BK: t.BK,
    PIX4: t.PIX4 ?? 1,
    CH4: t.CH4 ?? 1,
    KSPLIT: t.KSPLIT ?? 1,
    PREFETCH: t.PREFETCH ?? 0,
    BUFFERS: t.BUFFERS ?? 1,
    WG_K: t.WG_K ?? 1,
    HALF_MATH: t.HALF_MATH ?? 0,
    VEC_A: t.VEC_A ?? 0,
    POST_ROWS: t.POST_ROWS ?? 1,
  };
}

/** One string per distinct tile (absent fields count as their defaults). */
export function conv2dTileKey(t: Conv2dTile): string {
  return Object.values(conv2dFullTile(t)).join(",");
}

/**
 * The shapes of `tiles` (workgroup, BK, register tile; every other field at its default), most workgroups
 * first, for a layer whose grid leaves a big GPU idle; none when the best already gives 2x `targetWorkgroups`.
 */
function smallGridBases(
  tiles: readonly Conv2dTile[],
  workgroups: (t: Required<Conv2dTile>) => number,
  targetWorkgroups: number,
): Required<Conv2dTile>[] {
  const base = tiles.map((t) =>
    conv2dFullTile({ WG_M: t.WG_M, WG_N: t.WG_N, BK: t.BK, PIX4: t.PIX4, CH4: t.CH4 })
  )
    .sort((a, b) => workgroups(b) - workgroups(a));
  return base.length === 0 || workgroups(base[0]) >= 2 * targetWorkgroups ? [] : base;
}

/**
 * Split-K variants worth timing for a layer whose grid is small (few output tiles, long reductions: deep
 * layers on small maps at batch 1): `KSPLIT` 2, 4 and 8 on the given tiles that already give the most
 * workgroups (at most `baseTiles` of them), while each slice keeps at least 2 reduction steps, the grid stays
 * under 8x `targetWorkgroups`, and the partial sums (`KSPLIT * pixels * cout` f32) fit `maxScratchElements`.
 * Layers whose best tile already gives 2x `targetWorkgroups` get none.
 *
 * @param tiles The layer's candidates ({@linkcode conv2dTileCandidates}).
 * @param kTotal Reduction length (`KSIZE * KSIZE * cin / groups`).
 * @param pixels Output pixels.
 * @param coutPerGroup Output channels per group.
 * @param groups Groups. @default {1}
 * @param targetWorkgroups Workgroups that fill the device. @default {264}
 * @param maxScratchElements The largest partial-sum buffer, in f32 elements. @default {2 ** 24}
 * @param baseTiles How many tiles to split. @default {2}
 * @returns Tiles with `KSPLIT > 1` (all five other fields set).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { conv2dSplitCandidates, conv2dTileCandidates } from "./conv2d.ts";
 * // model.9.cv2 of YOLO11n at 640: 20x20 pixels, 512 -> 256, 1x1.
 * const split = conv2dSplitCandidates(conv2dTileCandidates(256, 400), 512, 400, 256);
 * assert.ok(split.length > 0 && split.every((t) => t.KSPLIT > 1));
 * // proto.cv2: 160x160 pixels fill the device without splitting.
 * assert.deepEqual(conv2dSplitCandidates(conv2dTileCandidates(64, 25600), 576, 25600, 64), []);
 * ```
 */
export function conv2dSplitCandidates(
  tiles: readonly Conv2dTile[],
  kTotal: number,
  pixels: number,
  coutPerGroup: number,
  groups = 1,
  targetWorkgroups = 264,
  maxScratchElements = 2 ** 24,
  baseTiles = 2,
): Required<Conv2dTile>[] {
  const workgroups = (t: Required<Conv2dTile>) =>
    ceilDiv(pixels, 4 * t.PIX4 * t.WG_M) * ceilDiv(coutPerGroup, 4 * t.CH4 * t.WG_N) * groups;
  const base = smallGridBases(tiles, workgroups, targetWorkgroups);
  const out: Required<Conv2dTile>[] = [];
  for (const t of base.slice(0, baseTiles)) {
    for (const split of [2, 4, 8]) {
      if (ceilDiv(kTotal, t.BK) < 2 * split) continue;
      if (workgroups(t) * split > 8 * targetWorkgroups) continue;
      if (split * pixels * coutPerGroup * groups > maxScratchElements) continue;
      out.push({ ...t, KSPLIT: split });
    }
  }
  return out;
}

/**
 * Variants that split each reduction step over `WG_K` (2, 4 or 8) invocation groups inside one workgroup:
 * more invocations per output tile with no partial sums in memory and no reduce dispatch. For the same
 * small-grid layers as {@linkcode conv2dSplitCandidates} (deep layers on small maps at batch 1), on the
 * tiles that give the most workgroups (at most `baseTiles`), while each group keeps at least 2 reduction
 * steps and the workgroup fits `maxInvocations` and `maxWorkgroupBytes`; on the first of them also `WG_K` 4
 * with `KSPLIT` 2 and 4 (the partial sums within `maxScratchElements`).
 *
 * @param tiles The layer's candidates ({@linkcode conv2dTileCandidates}).
 * @param kTotal Reduction length (`KSIZE * KSIZE * cin / groups`).
 * @param pixels Output pixels.
 * @param coutPerGroup Output channels per group.
 * @param groups Groups. @default {1}
 * @param targetWorkgroups Workgroups that fill the device. @default {264}
 * @param maxWorkgroupBytes The device's `maxComputeWorkgroupStorageSize`. @default {16384}
 * @param maxInvocations The device's `maxComputeInvocationsPerWorkgroup`. @default {256}
 * @param maxScratchElements The largest partial-sum buffer, in f32 elements. @default {2 ** 24}
 * @param baseTiles How many tiles to vary. @default {2}
 * @returns Tiles with `WG_K > 1` (all other fields set).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { conv2dGroupCandidates, conv2dTileCandidates } from "./conv2d.ts";
 * // model.9.cv2 of YOLO11n at 640: 20x20 pixels, 512 -> 256, 1x1.
 * const grouped = conv2dGroupCandidates(conv2dTileCandidates(256, 400), 512, 400, 256, 1, 264, 49152, 1024);
 * assert.ok(grouped.some((t) => t.WG_K === 8 && t.KSPLIT === 1));
 * assert.ok(grouped.some((t) => t.WG_K === 4 && t.KSPLIT === 4));
 * // proto.cv2: 160x160 pixels fill the device without splitting.
 * assert.deepEqual(conv2dGroupCandidates(conv2dTileCandidates(64, 25600), 576, 25600, 64), []);
 * ```
 */
export function conv2dGroupCandidates(
  tiles: readonly Conv2dTile[],
  kTotal: number,
  pixels: number,
  coutPerGroup: number,
  groups = 1,
  targetWorkgroups = 264,
  maxWorkgroupBytes = 16384,
  maxInvocations = 256,
  maxScratchElements = 2 ** 24,
  baseTiles = 2,
): Required<Conv2dTile>[] {
  const workgroups = (t: Required<Conv2dTile>) =>
    ceilDiv(pixels, 4 * t.PIX4 * t.WG_M) * ceilDiv(coutPerGroup, 4 * t.CH4 * t.WG_N) * groups;
  const base = smallGridBases(tiles, workgroups, targetWorkgroups);
  const fits = (t: Required<Conv2dTile>) =>
    t.WG_M * t.WG_N * t.WG_K <= maxInvocations && conv2dTileBytes(t) <= maxWorkgroupBytes &&
    conv2dParkFits(t) &&
    ceilDiv(kTotal, t.BK * t.WG_K) >= 2 * t.KSPLIT &&
    (t.KSPLIT === 1 || t.KSPLIT * pixels * coutPerGroup * groups <= maxScratchElements);
  const out: Required<Conv2dTile>[] = [];
  base.slice(0, baseTiles).forEach((t, i) => {
    for (const wgK of [2, 4, 8]) out.push({ ...t, WG_K: wgK });
    if (i === 0) { for (const split of [2, 4]) out.push({ ...t, WG_K: 4, KSPLIT: split }); }
  });
  return out.filter(fits);
}

/**
 * Grouped (`WG_K` 2, 4, 8) variants for a layer carrying a fused 1x1 post-conv, whose tiles span all its
 * channels and cannot split the reduction across workgroups (`KSPLIT` 1): on small maps such a layer runs in a
 * few dozen workgroups, each through the whole reduction, and invocation groups splitting it inside the
 * workgroup give back some of the parallelism split-K gives the unfused layer. Variants of the tiles among
 * `tiles` that give the most workgroups (at most `baseTiles`), whose grid is under 2x `targetWorkgroups`, with
 * at least 2 reduction steps per group, within `maxInvocations` and `maxWorkgroupBytes` (the staging tiles and
 * the output tile the post-conv reads).
 *
 * @param tiles The layer's post-conv tiles ({@linkcode conv2dPostTiles}).
 * @param kTotal Reduction length (`KSIZE * KSIZE * cin`).
 * @param pixels Output pixels.
 * @param targetWorkgroups Workgroups that fill the device. @default {264}
 * @param maxWorkgroupBytes The device's `maxComputeWorkgroupStorageSize`. @default {16384}
 * @param maxInvocations The device's `maxComputeInvocationsPerWorkgroup`. @default {256}
 * @param baseTiles How many of the tiles giving the most workgroups get variants. @default {2}
 * @returns The variants, unsplit.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { conv2dPostGroupCandidates, conv2dPostTiles } from "./conv2d.ts";
 * // Detect cv2.2.1 + cv2.2.2 at batch 1: a 3x3 64 -> 64 conv on a 20x20 map.
 * const grouped = conv2dPostGroupCandidates(conv2dPostTiles(64, 400, 264, 32768, 1024), 576, 400, 264, 32768, 1024);
 * assert.ok(grouped.length > 0 && grouped.every((t) => t.WG_K > 1 && t.KSPLIT === 1));
 * // Proto at 160x160: enough workgroups already.
 * assert.deepEqual(conv2dPostGroupCandidates(conv2dPostTiles(64, 25600), 576, 25600), []);
 * ```
 */
export function conv2dPostGroupCandidates(
  tiles: readonly Conv2dTile[],
  kTotal: number,
  pixels: number,
  targetWorkgroups = 264,
  maxWorkgroupBytes = 16384,
  maxInvocations = 256,
  baseTiles = 2,
): Required<Conv2dTile>[] {
  const workgroups = (t: Required<Conv2dTile>) => ceilDiv(pixels, 4 * t.PIX4 * t.WG_M);
  const fits = (t: Required<Conv2dTile>) =>
    t.WG_M * t.WG_N * t.WG_K <= maxInvocations &&
    conv2dTileBytes(t) + conv2dPostBytes(t) <= maxWorkgroupBytes && conv2dParkFits(t) &&
    ceilDiv(kTotal, t.BK * t.WG_K) >= 2;
  const out: Required<Conv2dTile>[] = [];
  for (const t of smallGridBases(tiles, workgroups, targetWorkgroups).slice(0, baseTiles)) {
    for (const wgK of [2, 4, 8]) out.push({ ...t, WG_K: wgK });
  }
  return out.filter(fits);
}

/**
 * Whether a conv2d call can stage A four channels at a time (`VEC_A`): an NHWC input view whose base, channel
 * stride and offset, and channels per group, are all multiples of 4 (so every 4 consecutive reduction rows
 * are one aligned vec4 of the input). The autotuner then also times `VEC_A` on each layer's fastest tiles.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { conv2dVecFits } from "./conv2d.ts";
 * const view = { inC: 64, groups: 1, xBase: 0, xStride: 128, xOff: 64 };
 * assert.ok(conv2dVecFits(view, false));
 * assert.ok(!conv2dVecFits({ ...view, xOff: 2 }, false));
 * assert.ok(!conv2dVecFits({ ...view, inC: 3 }, false)); // the network input
 * assert.ok(!conv2dVecFits(view, true)); // NCHW
 * ```
 */
export function conv2dVecFits(
  p: Pick<Conv2dParams, "inC" | "groups" | "xBase" | "xStride" | "xOff">,
  inNchw: boolean,
): boolean {
  return !inNchw && (p.inC / p.groups) % 4 === 0 && p.xBase % 4 === 0 && p.xStride % 4 === 0 &&
    p.xOff % 4 === 0;
}
