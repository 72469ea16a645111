/**
 * The attention core of C2PSA → `attention` (key streams; one workgroup column per image and head) or
 * `attention_rows` (whole score rows in workgroup memory, for small maps): same bindings, Params and results.
 */
import {
  attention,
  attentionKvSplit,
  attentionTile,
  attentionWorkgroupBytes,
} from "../../kernels/attention.ts";
import {
  attentionRows,
  attentionRowsTiles,
  attentionRowsWorkgroupBytes,
} from "../../kernels/attention_rows.ts";
import type { AttentionOp } from "../graph/ir.ts";
import type { Plan } from "../graph/plan.ts";
import { type KernelCall, noView, valueAt, viewParams } from "./kernel_call.ts";
import type { CallLimits } from "./plan_calls.ts";

/** One way to run an attention call: the kernel and its full override set. */
export type AttentionVariant = Pick<KernelCall, "spec" | "overrides">;

/**
 * The kernel an attention call runs when nothing is timed: on software adapters `attention_rows` (whole score
 * rows of 8 queries, the smallest workgroup that holds a head's value columns) where the rows fit the
 * workgroup memory, as at 640x640 (`bench/attention.ts` on lavapipe, YOLO11n-seg's 20x20 map: 7.1-7.7 ms
 * against 10.1-10.6 for the key streams, which wait at a barrier per key block); else the key streams
 * (`attention`), with a query tile that fits the workgroup memory and, on hardware adapters, several streams
 * per workgroup on small maps (`attentionKvSplit`). On hardware adapters the autotuner times every variant.
 */
export function attentionHeuristic(
  keyDim: number,
  headDim: number,
  pixels: number,
  heads: number,
  limits: CallLimits = {},
  peK = 0,
): AttentionVariant {
  const bytes = limits.maxWorkgroupStorage ?? 16384;
  const invocations = limits.maxInvocations ?? 256;
  if (limits.software && headDim % 4 === 0) {
    const rows = {
      KEY_DIM: keyDim,
      HEAD_DIM: headDim,
      QB: 8,
      MAX_N: pixels,
      WG: 8 * Math.ceil(headDim / 32),
      PE_K: peK,
    };
    if (rows.WG <= invocations && attentionRowsWorkgroupBytes(rows) <= bytes) {
      return { spec: attentionRows, overrides: rows };
    }
  }
  const tile = {
    KEY_DIM: keyDim,
    HEAD_DIM: headDim,
    ...attentionTile(pixels, heads, limits.targetWorkgroups),
  };
  while (tile.WG_Q > 1 && attentionWorkgroupBytes(tile) > bytes) tile.WG_Q /= 2;
  const split = limits.software
    ? 1
    : attentionKvSplit({ ...tile, KV_SPLIT: 1 }, pixels, heads, limits.targetWorkgroups, bytes, invocations);
  return { spec: attention, overrides: { ...tile, KV_SPLIT: split, PE_K: peK } };
}

/**
 * Every attention variant the autotuner times for a call: the key streams with `WG_Q` 8, 4 and 2 and one
 * to four streams per workgroup, and `attention_rows` with each tile that fits, all within the device's
 * workgroup memory and invocations. The heuristic choice comes first. `peK`: the positional conv's window
 * each adds to o (`PE_K`; 0: none).
 */
export function attentionVariants(
  keyDim: number,
  headDim: number,
  pixels: number,
  heads: number,
  limits: CallLimits = {},
  peK = 0,
): AttentionVariant[] {
  const bytes = limits.maxWorkgroupStorage ?? 16384;
  const invocations = limits.maxInvocations ?? 256;
  const first = attentionHeuristic(keyDim, headDim, pixels, heads, limits, peK);
  const out: AttentionVariant[] = [first];
  const key = (v: AttentionVariant) => `${v.spec.name}${JSON.stringify(v.overrides)}`;
  const seen = new Set([key(first)]);
  const add = (v: AttentionVariant) => {
    if (!seen.has(key(v))) out.push(v);
    seen.add(key(v));
  };
  const blocks = Math.ceil(pixels / (headDim / 2));
  if (headDim % 8 === 0) {
    for (const wgQ of [8, 4, 2]) {
      for (let split = 1; split <= Math.min(4, blocks); split++) {
        const o = { KEY_DIM: keyDim, HEAD_DIM: headDim, WG_Q: wgQ, KV_SPLIT: split, PE_K: peK };
        if (attentionWorkgroupBytes(o) > bytes || (wgQ * headDim / 8) * split > invocations) continue;
        try {
          attention.validate!(o);
        } catch {
          continue; // the streams' states do not fit
        }
        add({ spec: attention, overrides: o });
      }
    }
  }
  for (const o of attentionRowsTiles(keyDim, headDim, pixels, bytes, invocations)) {
    add({ spec: attentionRows, overrides: { ...o, PE_K: peK } });
  }
  return out;
}

/**
 * The kernel call of one attention op at the plan's shape, with the kernel {@linkcode attentionHeuristic}
 * picks (the query tile shrinks to fit `maxWorkgroupStorage` bytes of workgroup memory; 16 KiB is WebGPU's
 * default limit).
 */
export function attentionCall(op: AttentionOp, plan: Plan, limits: CallLimits = {}): KernelCall {
  const x = valueAt(plan, op.qkv);
  const { spec, overrides } = attentionHeuristic(
    op.keyDim,
    op.headDim,
    x.h * x.w,
    op.numHeads * x.n,
    limits,
    op.pe?.k ?? 0,
  );
  return {
    label: op.name,
    spec,
    overrides,
    params: {
      batch: x.n,
      pixels: x.h * x.w,
      numHeads: op.numHeads,
      scale: op.scale,
      ...viewParams("x", x.loc),
      ...viewParams("o", plan.locs[op.o]),
      ...(op.v === undefined ? noView("v") : viewParams("v", plan.locs[op.v])),
      width: x.w,
    },
    // With the positional conv folded in (pe), its weights and bias instead of v.
    bind: {
      x: { value: op.qkv },
      o: { value: op.o },
      v: op.v === undefined ? { dummy: true } : { value: op.v },
      pw: op.pe ? { weight: op.pe.weight, packing: "raw" } : { dummy: true },
      pb: op.pe ? { weight: op.pe.bias, packing: "raw" } : { dummy: true },
    },
  };
}
