/**
 * What an op becomes at one input shape: a kernel, its overrides, its Params values and what each binding
 * is bound to (an activation value, a weight tensor in a packing, or the dummy). Pure data: the executor
 * turns it into a pipeline, a bind group and a dispatch once per shape.
 */
import type { KernelSpec } from "../../kernels/_spec.ts";
import type { Loc, Plan } from "../graph/plan.ts";

/** How a weight tensor is laid out on the GPU. */
export type Packing =
  | "raw"
  | "conv2d"
  | "conv2d_pre"
  | "conv2d_post"
  | "conv2d_uniform"
  | "dwconv2d"
  | "dwconv2d_uniform"
  | "conv_transpose2d";

/** What one binding is bound to. */
export type BindingTarget =
  | { value: number }
  | { region: number }
  | {
    weight: string;
    packing: Packing;
    groups?: number;
    /** The register tile a `conv2d_uniform` packing is laid out for. */
    tn4?: number;
    /** The input-channel slices a `conv2d_uniform` packing is laid out for. */
    slices?: number;
    /** The bias tensor a `conv2d_uniform` / `dwconv2d_uniform` / `conv2d_pre` / `conv2d_post` packing carries. */
    bias?: string;
    /** A `conv2d_pre` packing followed by this 1x1 post-conv's `conv2d_post` packing (one `aux` binding). */
    post?: { weight: string; bias: string };
    /** Pack this tap of a ConvTranspose2d weight as a 1x1 conv (`conv2d_uniform` phases). */
    transposedTap?: number;
    /** Bind only this byte range of the packed buffer (a `conv2d_uniform` chunk's window). */
    range?: { offset: number; size: number };
  }
  | { dummy: true };

/** One dispatch of one kernel. */
export interface KernelCall {
  label: string;
  // deno-lint-ignore no-explicit-any
  spec: KernelSpec<any, any>;
  overrides: Record<string, number>;
  params: Record<string, number>;
  bind: Record<string, BindingTarget>;
}

/** The three Params fields of a view with the given prefix. */
export type ViewParams<P extends string> = Record<`${P}${"Base" | "Stride" | "Off"}`, number>;

/** `(base, cStride, cOff)` of a value as Params fields with the given prefix (`x` → xBase, xStride, xOff). */
export function viewParams<P extends string>(prefix: P, loc: Loc): ViewParams<P> {
  return {
    [`${prefix}Base`]: loc.base,
    [`${prefix}Stride`]: loc.cStride,
    [`${prefix}Off`]: loc.cOff,
  } as ViewParams<P>;
}

/** The three view fields of an unused operand. */
export function noView<P extends string>(prefix: P): ViewParams<P> {
  return { [`${prefix}Base`]: 0, [`${prefix}Stride`]: 0, [`${prefix}Off`]: 0 } as ViewParams<P>;
}

/** Shape and location of a value in a plan. */
export function valueAt(plan: Plan, v: number) {
  return { ...plan.shapes[v], loc: plan.locs[v] };
}

/**
 * Whether values `a` and `b` live in one GPU buffer of the plan (slices of one region, such as a concat's
 * parts, or regions given the same buffer). A kernel must then reach both through one binding: WebGPU
 * forbids binding a buffer twice in a dispatch where one of the bindings is writable.
 */
export function sameBuffer(plan: Plan, a: number, b: number): boolean {
  return plan.regions[plan.locs[a].region].buffer === plan.regions[plan.locs[b].region].buffer;
}
