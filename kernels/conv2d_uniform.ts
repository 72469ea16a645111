/**
 * Spec of `conv2d_uniform.wgsl`: general convolution (square kernel, any stride, padding and groups)
 * for CPU-backed adapters (lavapipe, SwiftShader), where invocations are SIMD lanes: `TM` output
 * pixels by `4 * TN4` output channels of one chunk per invocation, weights read from a
 * uniform buffer at lane-invariant addresses, each weight vec4 feeding `TM` pixels (on lavapipe every
 * load is per lane, a uniform one a gather, so pixels per weight load set the speed). Same fused
 * epilogue and views as `conv2d.wgsl`. With `OUT_STEP` > 1 it writes every `OUT_STEP`-th output pixel
 * from phase (`phaseY`, `phaseX`): a transposed conv with kernel == stride runs as one 1x1 conv per
 * phase, weights from {@linkcode transposedTapWeight}.
 *
 * `conv2dUniformSubgroups` (for devices whose subgroups `subgroupsWork` checked) reads each reduction row's
 * weight vec4s with one per-lane load and shuffles instead of one gather per vec4: on lavapipe YOLO11n-seg's
 * forward took 287-293 ms instead of 350-352.
 *
 * One dispatch per chunk of output channels and slice of input channels:
 * {@linkcode conv2dUniformChunks} lists them, each with its Params (`coBase`/`coCount`,
 * `ciBase`/`ciCount`, `accumulate`/`finish`) and the byte offset of its 64 KiB weight window in the
 * buffer {@linkcode packConv2dUniformWeight} builds. A layer whose chunk weights overflow the window
 * keeps the widest tile and splits its input channels into slices ({@linkcode conv2dUniformSlices})
 * that add into the output one after another.
 *
 * @module
 */
import code from "./conv2d_uniform.wgsl" with { type: "text" };
import { ceilDiv, f16Variant, fold, type KernelSpec, subgroupVariant, u32Params } from "./_spec.ts";

/** Names of the `Params` fields of `conv2d_uniform.wgsl`, in order. */
export type Conv2dUniformParam =
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
  | "coBase"
  | "coCount"
  | "phaseY"
  | "phaseX"
  | "ciBase"
  | "ciCount"
  | "accumulate"
  | "finish"
  | "act"
  | "residual";

/** Names of the overrides of `conv2d_uniform.wgsl`. */
export type Conv2dUniformOverride =
  | "KSIZE"
  | "STRIDE"
  | "IN_NCHW"
  | "OUT_NCHW"
  | "OUT_STEP"
  | "TM"
  | "TN4"
  | "WG"
  | "ROW"
  | "VEC4_OUT"
  | "VEC4_IN";

/** Params values of one conv2d_uniform dispatch (one output-channel chunk). */
export type Conv2dUniformParams = Record<Conv2dUniformParam, number>;

/** Override values of a conv2d_uniform pipeline (booleans as 0/1). */
export type Conv2dUniformOverrides = Record<Conv2dUniformOverride, number>;

/** Floats in one chunk's weight window: the 64 KiB uniform binding `w` (`W_VEC4S` vec4s). */
export const CONV2D_UNIFORM_WINDOW = 16384;

/** The largest `TN4` (output-channel vec4s per invocation) the shader's register tile holds. */
export const CONV2D_UNIFORM_MAX_TN4 = 8;

/** The largest `TM` (output pixels per invocation) the shader's register tile holds. */
export const CONV2D_UNIFORM_MAX_TM = 16;

/** Chunk starts in the packed buffer are multiples of this many floats (256-byte binding offsets). */
const CHUNK_ALIGN = 64;

/** The conv2d_uniform kernel: bindings x, w (uniform window: weights and bias), r (dummy when off), y, params. */
export const conv2dUniform: KernelSpec<Conv2dUniformParam, Conv2dUniformOverride> = {
  name: "conv2d_uniform",
  code,
  bindings: [
    { name: "x", access: "read", views: ["x4"] },
    { name: "w", access: "uniform" },
    { name: "r", access: "read", views: ["r4"] },
    { name: "y", access: "read_write", views: ["y4"] },
    { name: "params", access: "uniform" },
  ],
  params: u32Params<Conv2dUniformParam>(
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
    "coBase",
    "coCount",
    "phaseY",
    "phaseX",
    "ciBase",
    "ciCount",
    "accumulate",
    "finish",
    "act",
    "residual",
  ),
  overrides: {
    KSIZE: 3,
    STRIDE: 1,
    IN_NCHW: 0,
    OUT_NCHW: 0,
    OUT_STEP: 1,
    TM: 16,
    TN4: 8,
    WG: 8,
    ROW: 0,
    VEC4_OUT: 0,
    VEC4_IN: 0,
  },
  dispatch(p, o) {
    // ROW: each output row padded to a multiple of TM pixels.
    const invocations = o.ROW
      ? p.batch * p.outH * ceilDiv(p.outW, o.TM)
      : ceilDiv(p.batch * p.outH * p.outW, o.TM);
    const [x, y] = fold(ceilDiv(invocations, o.WG));
    return [x, y, 1];
  },
  entryPoints: {
    mainRow4In4: ["ROW", "VEC4_IN", "VEC4_OUT"],
    mainRowIn4: ["ROW", "VEC4_IN"],
    mainRow4: ["ROW", "VEC4_OUT"],
    mainRow: "ROW",
    main4In4: ["VEC4_IN", "VEC4_OUT"],
    mainIn4: "VEC4_IN",
    main4: "VEC4_OUT",
  },
  validate(o) {
    if (!(o.KSIZE >= 1 && o.STRIDE >= 1 && o.OUT_STEP >= 1 && o.WG >= 1)) {
      throw new RangeError(`Give conv2d_uniform positive KSIZE, STRIDE, OUT_STEP and WG`);
    }
    if (!(Number.isInteger(o.TN4) && o.TN4 >= 1 && o.TN4 <= CONV2D_UNIFORM_MAX_TN4)) {
      throw new RangeError(`Set conv2d_uniform TN4 to 1..${CONV2D_UNIFORM_MAX_TN4}: got ${o.TN4}`);
    }
    if (!(Number.isInteger(o.TM) && o.TM >= 1 && o.TM <= CONV2D_UNIFORM_MAX_TM)) {
      throw new RangeError(`Set conv2d_uniform TM to 1..${CONV2D_UNIFORM_MAX_TM}: got ${o.TM}`);
    }
    if (o.VEC4_OUT && o.OUT_NCHW) {
      throw new RangeError(`Use conv2d_uniform VEC4_OUT only with NHWC output (OUT_NCHW 0)`);
    }
    if (o.VEC4_IN && o.IN_NCHW) {
      throw new RangeError(`Use conv2d_uniform VEC4_IN only with NHWC input (IN_NCHW 0)`);
    }
    if (o.ROW && !(o.KSIZE <= 3 && o.STRIDE <= 2 && o.OUT_STEP === 1)) {
      throw new RangeError(
        `Use conv2d_uniform ROW only with KSIZE <= 3, STRIDE <= 2 and OUT_STEP 1: got KSIZE ${o.KSIZE}, STRIDE ${o.STRIDE}, OUT_STEP ${o.OUT_STEP}`,
      );
    }
  },
};

/**
 * Whether a conv2d_uniform dispatch may store four output channels at a time (`VEC4_OUT`, entry point
 * `main4`): NHWC output and residual views whose bases, channel strides and offsets are multiples of 4,
 * and output channels per group a multiple of 4 (so every chunk is whole vec4s). On lavapipe that made
 * the 1x1 convs with few input channels 10-20% faster (one per-lane loop per four stores).
 *
 * @param p The dispatch's Params (any chunk: `coBase` steps by whole vec4s; `residual`).
 * @param o Its overrides (`OUT_NCHW`).
 * @returns True when `main4` applies.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { conv2dUniformVec4Out } from "./conv2d_uniform.ts";
 * const view = { outC: 64, groups: 1, yBase: 128, yStride: 96, yOff: 32, rBase: 0, rStride: 0, rOff: 0, residual: 0 };
 * assert.equal(conv2dUniformVec4Out(view, { OUT_NCHW: 0 }), true);
 * assert.equal(conv2dUniformVec4Out({ ...view, yOff: 2 }, { OUT_NCHW: 0 }), false);
 * assert.equal(conv2dUniformVec4Out({ ...view, rStride: 6, residual: 1 }, { OUT_NCHW: 0 }), false);
 * ```
 */
export function conv2dUniformVec4Out(
  p: Readonly<
    Pick<Conv2dUniformParams, "outC" | "groups" | "residual" | `${"y" | "r"}${"Base" | "Stride" | "Off"}`>
  >,
  o: Readonly<Pick<Conv2dUniformOverrides, "OUT_NCHW">>,
): boolean {
  const four = (...v: number[]) => v.every((n) => n % 4 === 0);
  return !o.OUT_NCHW && four(p.outC / p.groups, p.yBase, p.yStride, p.yOff) &&
    (!p.residual || four(p.rBase, p.rStride, p.rOff));
}

/**
 * Whether a conv2d_uniform dispatch may load four input channels at a time (`VEC4_IN`, entry points
 * `mainIn4` / `main4In4`, with ROW `mainRowIn4` / `mainRow4In4`): an NHWC input view whose base, channel
 * stride and offset are multiples of 4, and a dispatch whose first input channel (`coBase`'s group's, plus
 * `ciBase`) and input channel count are too. On lavapipe that made the 1x1 convs with 64 or more input
 * channels 20-45% faster (one per-lane loop per four loads), the 3x3 stride-1 row tiles 8-12%.
 *
 * @param p The dispatch's Params (its chunk and slice included).
 * @param o Its overrides (`IN_NCHW`).
 * @returns True when the VEC4_IN entry points apply.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { conv2dUniformVec4In } from "./conv2d_uniform.ts";
 * const p = { inC: 64, outC: 32, groups: 1, xBase: 0, xStride: 96, xOff: 32, coBase: 0, ciBase: 0, ciCount: 64 };
 * assert.equal(conv2dUniformVec4In(p, { IN_NCHW: 0 }), true);
 * assert.equal(conv2dUniformVec4In({ ...p, xOff: 2 }, { IN_NCHW: 0 }), false);
 * assert.equal(conv2dUniformVec4In({ ...p, ciCount: 30 }, { IN_NCHW: 0 }), false);
 * assert.equal(conv2dUniformVec4In(p, { IN_NCHW: 1 }), false);
 * ```
 */
export function conv2dUniformVec4In(
  p: Readonly<
    Pick<
      Conv2dUniformParams,
      "inC" | "outC" | "groups" | "xBase" | "xStride" | "xOff" | "coBase" | "ciBase" | "ciCount"
    >
  >,
  o: Readonly<Pick<Conv2dUniformOverrides, "IN_NCHW">>,
): boolean {
  const cinOff = Math.floor(p.coBase / (p.outC / p.groups)) * (p.inC / p.groups) + p.ciBase;
  return !o.IN_NCHW && [p.xBase, p.xStride, p.xOff, cinOff, p.ciCount].every((n) => n % 4 === 0);
}

/**
 * The register tile `TN4` for a conv: as wide as the register tile allows, then narrowed so the
 * chunks of a group are even (60 channels in 2 chunks of 32 and 28 rather than 32, 28; 20 in one
 * of 20). Layers whose weights overflow the 64 KiB window at that width are split over input
 * channels ({@linkcode conv2dUniformSlices}) rather than narrowed: on lavapipe at 640x640 the
 * head's 3x3 128 -> 64 conv at 40x40 took 60 ms as 2 chunks of 32 channels x 3 slices against
 * 332 ms as 6 unsplit chunks of 12, its 256 -> 64 conv left the profile's top 20 (189 ms before as
 * 16 chunks of 4).
 *
 * @param coutPerGroup Output channels per group.
 * @returns `TN4`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { conv2dUniformTile } from "./conv2d_uniform.ts";
 * assert.equal(conv2dUniformTile(64), 8); // 2 chunks of 32 channels
 * assert.equal(conv2dUniformTile(40), 5); // 2 chunks of 20
 * assert.equal(conv2dUniformTile(7), 2);
 * ```
 */
export function conv2dUniformTile(coutPerGroup: number): number {
  const vec4s = ceilDiv(coutPerGroup, 4);
  return ceilDiv(vec4s, ceilDiv(vec4s, CONV2D_UNIFORM_MAX_TN4));
}

/**
 * The pixel tile `TM` of a `ROW` conv (its pixels are neighbours in an output row, each row padded to
 * a multiple of `TM`): the longest tile of 8 to 16 pixels that divides the row, else as long as the
 * register tile allows, shortened so the row splits evenly. A 20-wide row runs as 2 x 10 rather than
 * 16 + 4 padded pixels, a 40-wide one as 4 x 10 (one pipeline for both; 3 x 14 ran no faster). On
 * lavapipe at 640x640 YOLO11n-seg's 3x3 convs at 40x40 and 20x20 took ~21 ms less per forward (5
 * runs' median per layer: model.7 19.8 -> 14.0 ms, model.5 23.1 -> 19.8) for ~0.1 s more pipeline
 * creation on the first forward.
 *
 * @param outW Output width.
 * @returns `TM`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { conv2dUniformRowTile } from "./conv2d_uniform.ts";
 * assert.equal(conv2dUniformRowTile(160), 16);
 * assert.equal(conv2dUniformRowTile(20), 10); // 2 tiles, no padding
 * assert.equal(conv2dUniformRowTile(40), 10);
 * assert.equal(conv2dUniformRowTile(37), 13); // 3 tiles, 2 padded pixels
 * assert.equal(conv2dUniformRowTile(7), 7);
 * ```
 */
export function conv2dUniformRowTile(outW: number): number {
  for (let tm = CONV2D_UNIFORM_MAX_TM; tm >= CONV2D_UNIFORM_MAX_TM / 2; tm--) if (outW % tm === 0) return tm;
  return ceilDiv(outW, ceilDiv(outW, CONV2D_UNIFORM_MAX_TM));
}

/**
 * How many input-channel slices a conv needs so that each slice's weights for one chunk
 * (`k * k * ciCount` rows of `4 * tn4` floats, and a bias row) fit the 64 KiB window, or 0 when a
 * single input channel does not fit.
 *
 * @param cinPerGroup Input channels per group.
 * @param k Kernel size.
 * @param tn4 The register tile.
 * @returns The number of slices.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { conv2dUniformSlices } from "./conv2d_uniform.ts";
 * assert.equal(conv2dUniformSlices(32, 3, 8), 1); // 288 + 1 rows of 32 floats
 * assert.equal(conv2dUniformSlices(128, 3, 8), 3); // at most 56 input channels per slice
 * assert.equal(conv2dUniformSlices(512, 1, 8), 2); // 511 per slice
 * assert.equal(conv2dUniformSlices(1, 65, 1), 0);
 * ```
 */
export function conv2dUniformSlices(cinPerGroup: number, k: number, tn4: number): number {
  const perSlice = Math.floor((CONV2D_UNIFORM_WINDOW / (4 * tn4) - 1) / (k * k));
  return perSlice < 1 ? 0 : ceilDiv(cinPerGroup, perSlice);
}

/**
 * Input channels per slice when a conv's `cinPerGroup` are split into `slices`: as even as whole channels
 * allow, rounded up to a multiple of 4 where that is more than 4 and still fits the window (so the slices
 * keep the four-channel loads of `VEC4_IN`: 128 channels in slices of 44, 44 and 40 rather than 43, 43, 42).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { conv2dUniformSliceWidth } from "./conv2d_uniform.ts";
 * assert.equal(conv2dUniformSliceWidth(128, 3, 8, 3), 44);
 * assert.equal(conv2dUniformSliceWidth(5, 1, 1, 2), 3);
 * assert.equal(conv2dUniformSliceWidth(1022, 1, 8, 2), 511); // 512 would overflow the window
 * ```
 */
export function conv2dUniformSliceWidth(cinPerGroup: number, k: number, tn4: number, slices: number): number {
  const even = ceilDiv(cinPerGroup, slices);
  const aligned = ceilDiv(even, 4) * 4;
  const fits = (k * k * aligned + 1) * 4 * tn4 <= CONV2D_UNIFORM_WINDOW;
  return even > 4 && fits ? aligned : even;
}

/** One dispatch of a chunked conv: its output channels, input channels and weight window. */
export interface Conv2dUniformChunk {
  /** First output channel (over all groups). */
  coBase: number;
  /** Output channels in this chunk (at most `4 * TN4`). */
  coCount: number;
  /** First input channel of this slice, within the group. */
  ciBase: number;
  /** Input channels in this slice. */
  ciCount: number;
  /** 1 when an earlier slice of the same chunk already stored its partial sums. */
  accumulate: number;
  /** 1 on the chunk's last slice: bias, activation and residual are applied. */
  finish: number;
  /** Byte offset of the window in the packed weight buffer (a multiple of 256). */
  offset: number;
}

/**
 * The dispatches of a conv: per group, runs of `4 * tn4` output channels, each as `slices`
 * consecutive slices of the group's input channels (as even as whole channels allow).
 *
 * @param cout Output channels (all groups).
 * @param cinPerGroup Input channels per group.
 * @param k Kernel size.
 * @param groups Groups (must divide `cout`).
 * @param tn4 The register tile ({@linkcode conv2dUniformTile}).
 * @param slices Input-channel slices ({@linkcode conv2dUniformSlices}).
 * @returns One entry per dispatch, in order.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { conv2dUniformChunks } from "./conv2d_uniform.ts";
 * const rest = { ciBase: 0, ciCount: 1, accumulate: 0, finish: 1 };
 * assert.deepEqual(conv2dUniformChunks(10, 1, 1, 1, 2), [
 *   { coBase: 0, coCount: 8, ...rest, offset: 0 },
 *   { coBase: 8, coCount: 2, ...rest, offset: 256 },
 * ]);
 * assert.deepEqual(
 *   conv2dUniformChunks(4, 5, 1, 1, 1, 2).map((c) => [c.ciBase, c.ciCount, c.accumulate, c.finish]),
 *   [[0, 3, 0, 0], [3, 2, 1, 1]],
 * );
 * ```
 */
export function conv2dUniformChunks(
  cout: number,
  cinPerGroup: number,
  k: number,
  groups: number,
  tn4: number,
  slices = 1,
): Conv2dUniformChunk[] {
  const coutG = cout / groups;
  const perSlice = conv2dUniformSliceWidth(cinPerGroup, k, tn4, slices);
  const stride = ceilDiv((k * k * perSlice + 1) * 4 * tn4, CHUNK_ALIGN) * CHUNK_ALIGN;
  const chunks: Conv2dUniformChunk[] = [];
  for (let g = 0; g < groups; g++) {
    for (let co = 0; co < coutG; co += 4 * tn4) {
      const coCount = Math.min(4 * tn4, coutG - co);
      for (let ciBase = 0; ciBase < cinPerGroup; ciBase += perSlice) {
        const ciCount = Math.min(perSlice, cinPerGroup - ciBase);
        chunks.push({
          coBase: g * coutG + co,
          coCount,
          ciBase,
          ciCount,
          accumulate: ciBase > 0 ? 1 : 0,
          finish: ciBase + ciCount === cinPerGroup ? 1 : 0,
          offset: chunks.length * stride * 4,
        });
      }
    }
  }
  return chunks;
}

/** How {@linkcode packConv2dUniformWeight} lays out a conv's weights. */
export interface Conv2dUniformPacking {
  /** The register tile the kernel is compiled with. */
  tn4: number;
  /** Number of groups (must divide `cout`). @default 1 */
  groups?: number;
  /** Input-channel slices per chunk ({@linkcode conv2dUniformSlices}). @default 1 */
  slices?: number;
  /** The conv's bias (`cout` values); zero when left out. */
  bias?: Float32Array;
}

/**
 * Packs PyTorch conv weights `[cout, cinPerGroup, k, k]` (BatchNorm already folded) and the bias
 * for conv2d_uniform: window after window ({@linkcode conv2dUniformChunks}), each
 * `[(ky * k + kx) * ciCount + ci][4 * tn4]` then one row of the chunk's bias, missing channels
 * zero, window starts aligned to 256 bytes, and zero tail so the last 64 KiB window lies inside
 * the buffer.
 *
 * @param w Weights in PyTorch order.
 * @param shape `[cout, cinPerGroup, kh, kw]` with `kh == kw`.
 * @param packing The tile, groups, slices and bias.
 * @returns The packed weights.
 * @throws {RangeError} When the shape does not match `w` or the bias `cout`, the kernel is not
 * square, or a window overflows 64 KiB.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { packConv2dUniformWeight } from "./conv2d_uniform.ts";
 * // 2 output channels, 1 input channel, 1x1, TN4 1: one k row of 4 channels, the bias row, zeros.
 * const w = new Float32Array([5, 7]);
 * const packed = packConv2dUniformWeight(w, [2, 1, 1, 1], { tn4: 1, bias: new Float32Array([1, 2]) });
 * assert.deepEqual([...packed.subarray(0, 8)], [5, 7, 0, 0, 1, 2, 0, 0]);
 * assert.equal(packed.length, 16384);
 * ```
 */
export function packConv2dUniformWeight(
  w: Float32Array,
  shape: readonly [number, number, number, number],
  packing: Conv2dUniformPacking,
): Float32Array {
  const { tn4, groups = 1, slices = 1, bias } = packing;
  const [cout, cinG, kh, kw] = shape;
  if (kh !== kw) throw new RangeError(`Use a square conv2d kernel: got ${kh}x${kw}`);
  if (w.length !== cout * cinG * kh * kw) {
    throw new RangeError(`Give conv2d weights of shape [${shape.join(", ")}]: got ${w.length} values`);
  }
  if (bias && bias.length !== cout) {
    throw new RangeError(`Give a conv2d bias of ${cout} values: got ${bias.length}`);
  }
  if (groups < 1 || cout % groups !== 0) {
    throw new RangeError(`Use a group count that divides cout ${cout}: got ${groups}`);
  }
  const row = 4 * tn4;
  const rows = kh * kw * conv2dUniformSliceWidth(cinG, kh, tn4, slices);
  if ((rows + 1) * row > CONV2D_UNIFORM_WINDOW) {
    throw new RangeError(
      `Use more input-channel slices or a smaller conv2d_uniform TN4 for ${rows} weight rows per window: TN4 ${tn4} overflows 64 KiB`,
    );
  }
  const chunks = conv2dUniformChunks(cout, cinG, kh, groups, tn4, slices);
  const out = new Float32Array(chunks.at(-1)!.offset / 4 + CONV2D_UNIFORM_WINDOW);
  for (const chunk of chunks) {
    const start = chunk.offset / 4;
    const biasRow = start + kh * kw * chunk.ciCount * row;
    for (let j = 0; j < chunk.coCount; j++) {
      const co = chunk.coBase + j;
      for (let ci = 0; ci < chunk.ciCount; ci++) {
        for (let t = 0; t < kh * kw; t++) {
          out[start + (t * chunk.ciCount + ci) * row + j] = w[(co * cinG + chunk.ciBase + ci) * kh * kw + t];
        }
      }
      out[biasRow + j] = bias?.[co] ?? 0;
    }
  }
  return out;
}

/**
 * The 1x1 conv weights `[cout, cin, 1, 1]` of one tap (phase) of a PyTorch ConvTranspose2d with
 * kernel == stride and no padding: `out[co][ci] = w[ci][co][tap / k][tap % k]`.
 *
 * @param w ConvTranspose2d weights `[cin, cout, k, k]`.
 * @param shape `[cin, cout, k, k]`.
 * @param tap `phaseY * k + phaseX`.
 * @returns The tap's weights in conv order.
 * @throws {RangeError} When the shape does not match `w` or the tap is out of range.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { transposedTapWeight } from "./conv2d_uniform.ts";
 * // cin 1, cout 2, k 2: tap 3 is the bottom-right weight of each output channel.
 * const w = new Float32Array([1, 2, 3, 4, 5, 6, 7, 8]);
 * assert.deepEqual([...transposedTapWeight(w, [1, 2, 2, 2], 3)], [4, 8]);
 * ```
 */
export function transposedTapWeight(
  w: Float32Array,
  shape: readonly [number, number, number, number],
  tap: number,
): Float32Array {
  const [cin, cout, kh, kw] = shape;
  if (w.length !== cin * cout * kh * kw || kh !== kw) {
    throw new RangeError(
      `Give square ConvTranspose2d weights of shape [${shape.join(", ")}]: got ${w.length} values`,
    );
  }
  if (!(Number.isInteger(tap) && tap >= 0 && tap < kh * kw)) {
    throw new RangeError(`Give a tap in 0..${kh * kw - 1}: got ${tap}`);
  }
  const out = new Float32Array(cout * cin);
  for (let ci = 0; ci < cin; ci++) {
    for (let co = 0; co < cout; co++) out[co * cin + ci] = w[(ci * cout + co) * kh * kw + tap];
  }
  return out;
}

/** `conv2dUniform` with f16 activations (its `.wgsl` made f16 by `f16Variant`), for devices with `shader-f16`. */
export const conv2dUniformF16: typeof conv2dUniform = f16Variant(conv2dUniform);

/**
 * `conv2dUniform` reading a reduction row's weights with one per-lane load and subgroup shuffles instead
 * of one uniform-buffer gather per weight vec4 (its `.wgsl` made so by `subgroupVariant`): for a device
 * with the `subgroups` feature whose subgroups `subgroupsWork` found whole at a workgroup of `WG` lanes.
 * On lavapipe (TM 16, TN4 8) the 3x3 64 -> 64 conv at 160x160 ran at 61 GFLOP/s instead of 46.
 */
export const conv2dUniformSubgroups: typeof conv2dUniform = {
  ...subgroupVariant(conv2dUniform),
  validate(o) {
    conv2dUniform.validate!(o);
    if (o.TN4 > o.WG) {
      throw new RangeError(
        `Give conv2d_uniform_subgroups a workgroup (WG ${o.WG}) of at least TN4 ${o.TN4} lanes: lane j holds weight vec4 j`,
      );
    }
  },
};

/** `conv2dUniformSubgroups` with f16 activations. */
export const conv2dUniformSubgroupsF16: typeof conv2dUniform = f16Variant(conv2dUniformSubgroups);
