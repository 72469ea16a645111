/**
 * A conv op → `dwconv2d` when depthwise (`dwconv2d_uniform` on a software adapter); else on a
 * software adapter `conv2d_uniform` (one dispatch per output-channel chunk and input-channel slice);
 * else `conv2d` with a tile chosen for its shape (and its fused depthwise pre-conv, `PRE_K`, and 1x1 post-conv,
 * `POST_N`, if any: a post-conv's tile spans all the conv's output channels; and its upsampled copy, `UP_R`).
 */
import {
  conv2d,
  conv2dPostRows,
  conv2dPostTiles,
  type Conv2dTile,
  conv2dTile,
} from "../../kernels/conv2d.ts";
import {
  conv2dUniform,
  conv2dUniformChunks,
  conv2dUniformRowTile,
  conv2dUniformSlices,
  conv2dUniformSubgroups,
  conv2dUniformTile,
  conv2dUniformVec4In,
  conv2dUniformVec4Out,
} from "../../kernels/conv2d_uniform.ts";
import { dwconv2d } from "../../kernels/dwconv2d.ts";
import {
  dwconv2dUniform,
  dwconv2dUniformFits,
  dwconv2dUniformVec4Fits,
} from "../../kernels/dwconv2d_uniform.ts";
import type { ConvOp } from "../graph/ir.ts";
import type { Plan } from "../graph/plan.ts";
import { type KernelCall, noView, sameBuffer, valueAt, viewParams } from "./kernel_call.ts";
import type { CallLimits } from "./plan_calls.ts";

/** Bytes of the uniform window each conv2d_uniform dispatch binds. */
export const UNIFORM_WINDOW_BYTES = 65536;

/**
 * The uniform conv a software adapter runs for a register tile of `tn4` weight vec4s:
 * `conv2d_uniform_subgroups` where `limits.subgroups` (checked at a workgroup of `limits.lanes`) and the
 * subgroup has a lane per weight vec4, else `conv2d_uniform`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { uniformConvSpec } from "./conv.ts";
 * assert.equal(uniformConvSpec(8, { subgroups: true, lanes: 8 }).name, "conv2d_uniform_subgroups");
 * assert.equal(uniformConvSpec(8, { subgroups: true, lanes: 4 }).name, "conv2d_uniform");
 * assert.equal(uniformConvSpec(8, {}).name, "conv2d_uniform");
 * ```
 */
export function uniformConvSpec(tn4: number, limits: CallLimits): typeof conv2dUniform {
  return limits.subgroups && tn4 <= (limits.lanes ?? 8) ? conv2dUniformSubgroups : conv2dUniform;
}

/**
 * The kernel calls of one conv at the plan's shape: one call, or one per output-channel chunk and
 * input-channel slice with `conv2d_uniform`. conv2d is tiled to give about `limits.targetWorkgroups` workgroups.
 */
export function convCalls(op: ConvOp, plan: Plan, limits: CallLimits = {}): KernelCall[] {
  const x = valueAt(plan, op.x);
  const y = valueAt(plan, op.y);
  const residual = op.r === undefined ? undefined : valueAt(plan, op.r);
  // With a folded upsample, r is its output (written) instead of a residual (the fold leaves r unset).
  const up = op.up === undefined ? undefined : valueAt(plan, op.up.y);
  // With a post-conv over [cat value | tile], r's buffer holds the cat value (the residual, if any, is a slice).
  const cat = op.cat === undefined ? undefined : valueAt(plan, op.cat.x);
  const r = residual
    ? viewParams("r", residual.loc)
    : up
    ? viewParams("r", up.loc)
    : cat
    ? viewParams("r", cat.loc)
    : noView("r");
  const shape = { batch: x.n, inH: x.h, inW: x.w, outH: y.h, outW: y.w, pad: op.p };
  // The value r's binding reads (or with a folded upsample writes), unless it lies in y's buffer: then it is
  // read through y (R_IN_Y) and r gets a dummy, as WebGPU forbids a buffer bound twice with one writable.
  const rValue = op.r ?? op.up?.y ?? op.cat?.x;
  const rInY = rValue !== undefined && sameBuffer(plan, rValue, op.y);
  if (rInY && op.up) {
    throw new RangeError(`Cannot run conv "${op.name}": its upsampled copy would be written into y's buffer`);
  }
  const bind = {
    x: { value: op.x },
    b: { weight: op.bias, packing: "raw" as const },
    r: rValue !== undefined && !rInY ? { value: rValue } : { dummy: true as const },
    y: { value: op.y },
  };
  const depthwise = op.g > 1 && op.g === op.cin && op.g === op.cout;
  const xNchw = plan.regions[x.loc.region].nchw;
  const yNchw = plan.regions[y.loc.region].nchw;
  if (op.post && (limits.software || op.g !== 1)) {
    throw new RangeError(
      `Cannot run conv "${op.name}" with its 1x1 post-conv here: conv2d runs it (one group, not on a software adapter)`,
    );
  }
  if (op.pre && (limits.software || xNchw || op.k !== 1 || op.g !== 1)) {
    throw new RangeError(
      `Cannot run conv "${op.name}" with its depthwise pre-conv here: conv2d runs it (1x1, NHWC input, not on a software adapter)`,
    );
  }
  const bufferOf = (loc: { region: number }) => plan.regions[loc.region].buffer;
  if (
    cat &&
    (!op.post || op.up || yNchw || plan.regions[cat.loc.region].nchw ||
      (residual && bufferOf(residual.loc) !== bufferOf(cat.loc)))
  ) {
    throw new RangeError(
      `Cannot run conv "${op.name}" with its post-conv over a concat: it needs the post-conv, NHWC views, no upsampled copy and its residual in the concatenated value's buffer`,
    );
  }
  if (op.up && (limits.software || depthwise || residual || plan.regions[up!.loc.region].nchw)) {
    throw new RangeError(
      `Cannot run conv "${op.name}" with its upsampled copy here: conv2d runs it (not depthwise, no residual, an NHWC copy, not on a software adapter)`,
    );
  }
  if (depthwise && rInY) {
    throw new RangeError(`Cannot run depthwise conv "${op.name}" with its residual in its output's buffer`);
  }
  if (depthwise && !xNchw && !yNchw && limits.software && dwconv2dUniformFits(op.cin, op.k)) {
    const params = { ...shape, channels: op.cin, ...viewParams("x", x.loc), ...viewParams("y", y.loc), ...r };
    return [{
      label: op.name,
      spec: dwconv2dUniform,
      overrides: {
        ACT: op.act === "silu" ? 1 : 0,
        KSIZE: op.k,
        STRIDE: op.s,
        RESIDUAL: residual ? 1 : 0,
        VEC4: dwconv2dUniformVec4Fits(params, !!residual) ? 1 : 0,
      },
      params,
      bind: {
        x: bind.x,
        w: { weight: op.weight, bias: op.bias, packing: "dwconv2d_uniform" },
        r: bind.r,
        y: bind.y,
      },
    }];
  }
  if (depthwise && !xNchw && !yNchw) {
    return [{
      label: op.name,
      spec: dwconv2d,
      overrides: { ACT: op.act === "silu" ? 1 : 0, KSIZE: op.k, STRIDE: op.s, RESIDUAL: residual ? 1 : 0 },
      params: { ...shape, channels: op.cin, ...viewParams("x", x.loc), ...viewParams("y", y.loc), ...r },
      bind: { ...bind, w: { weight: op.weight, packing: "dwconv2d" } },
    }];
  }
  const common = {
    ACT: op.act === "silu" ? 1 : 0,
    KSIZE: op.k,
    STRIDE: op.s,
    RESIDUAL: residual ? 1 : 0,
    ...(rInY ? { R_IN_Y: 1 } : {}),
    IN_NCHW: xNchw ? 1 : 0,
    OUT_NCHW: yNchw ? 1 : 0,
    ...(op.up ? { UP_R: op.up.scale } : {}),
    ...(op.cat ? { POST_CAT: op.cat.tileFirst ? 2 : 1 } : {}),
  };
  const pre: Record<string, number> = op.pre
    ? { PRE_K: op.pre.k, PRE_ACT: op.pre.act === "silu" ? 1 : 0 }
    : {};
  const post: Record<string, number> = op.post
    ? { POST_N: op.post.cout, POST_ACT: op.post.act === "silu" ? 1 : 0 }
    : {};
  let tile: Conv2dTile = conv2dTile(op.cout / op.g, y.n * y.h * y.w, op.g, limits.targetWorkgroups);
  if (op.post) {
    const [first] = conv2dPostTiles(
      op.cout,
      y.n * y.h * y.w,
      limits.targetWorkgroups,
      limits.maxWorkgroupStorage,
      limits.maxInvocations,
    );
    if (!first) {
      throw new RangeError(
        `Cannot run conv "${op.name}" with its post-conv: ${op.cout} channels fit no tile here`,
      );
    }
    const { HALF_MATH: _, ...rest } = first;
    tile = { ...rest, POST_ROWS: conv2dPostRows(rest, op.post.cout) };
  }
  const params = {
    ...shape,
    inC: op.cin,
    outC: op.cout,
    groups: op.g,
    ...viewParams("x", x.loc),
    ...viewParams("y", y.loc),
    ...r,
  };
  const tn4 = conv2dUniformTile(op.cout / op.g);
  const slices = limits.software ? conv2dUniformSlices(op.cin / op.g, op.k, tn4) : 0;
  const row = op.k > 1 && op.k <= 3 && op.s <= 2;
  if (slices > 0) {
    // The epilogue's activation and residual are Params here, not overrides: 7 fewer pipelines to create
    // for YOLO11n-seg (each a large one on a software adapter: the first forward ~0.5 s sooner), for ~3%
    // more GPU time per forward on lavapipe.
    const epilogue = { act: common.ACT, residual: residual ? (rInY ? 2 : 1) : 0 };
    const layout = { KSIZE: op.k, STRIDE: op.s, IN_NCHW: common.IN_NCHW, OUT_NCHW: common.OUT_NCHW };
    return conv2dUniformChunks(op.cout, op.cin / op.g, op.k, op.g, tn4, slices).map((
      { offset, ...chunk },
    ) => ({
      label: op.name,
      spec: uniformConvSpec(tn4, limits),
      overrides: {
        ...layout,
        TN4: tn4,
        WG: limits.lanes ?? 8,
        ...(row ? { ROW: 1, TM: conv2dUniformRowTile(y.w) } : { ROW: 0 }),
        VEC4_OUT: conv2dUniformVec4Out({ ...params, ...epilogue }, layout) ? 1 : 0,
        // Four-channel loads: in every spread tile where aligned, in row tiles at stride 1 (at stride 2 their
        // 33 columns ran no faster).
        VEC4_IN: (!row || op.s === 1) && conv2dUniformVec4In({ ...params, ...chunk }, layout) ? 1 : 0,
      },
      params: { ...params, ...chunk, phaseY: 0, phaseX: 0, ...epilogue },
      bind: {
        x: bind.x,
        w: {
          weight: op.weight,
          bias: op.bias,
          packing: "conv2d_uniform",
          groups: op.g,
          tn4,
          slices,
          range: { offset, size: UNIFORM_WINDOW_BYTES },
        },
        r: bind.r,
        y: bind.y,
      },
    }));
  }
  return [{
    label: op.name,
    spec: conv2d,
    overrides: { ...common, ...pre, ...post, ...tile },
    params: { ...params, ...(cat ? viewParams("cat", cat.loc) : noView("cat")), catC: op.cat?.c ?? 0 },
    // x4: the input again as vec4s, for tiles that stage A four channels at a time (VEC_A); aux: the
    // depthwise pre-conv's and/or the 1x1 post-conv's weights and bias.
    bind: {
      ...bind,
      w: { weight: op.weight, packing: "conv2d", groups: op.g },
      p: { dummy: true },
      x4: bind.x,
      aux: op.pre
        ? {
          weight: op.pre.weight,
          bias: op.pre.bias,
          packing: "conv2d_pre",
          ...(op.post ? { post: { weight: op.post.weight, bias: op.post.bias } } : {}),
        }
        : op.post
        ? { weight: op.post.weight, bias: op.post.bias, packing: "conv2d_post" }
        : { dummy: true },
    },
  }];
}
