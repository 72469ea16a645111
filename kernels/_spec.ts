/**
 * The contract between a WGSL kernel and the TypeScript that runs it: which buffers it binds (in
 * binding order), the fields of its `Params` uniform (in declaration order, with scalar types), its
 * `override` knobs with defaults, and the workgroup math. Specs are plain data plus pure functions;
 * nothing here touches a device.
 *
 * @module
 */

/** A WGSL scalar type a `Params` field may have (all 4 bytes). */
export type ScalarType = "u32" | "i32" | "f32";

/** How a binding is declared: `var<storage, read>`, `var<storage, read_write>` or `var<uniform>`. */
export type BindingAccess = "read" | "read_write" | "uniform";

/** One `@group(0) @binding(i)` declaration; `i` is its index in {@linkcode KernelSpec.bindings}. */
export interface BindingSpec {
  /** The WGSL variable name (`x`, `w`, `b`, `r`, `y`, `params`). */
  readonly name: string;
  /** Its address space and access mode. */
  readonly access: BindingAccess;
  /** Declared `array<f32>` in both variants (scratch such as split-K partial sums): never f16. */
  readonly f32?: boolean;
  /**
   * Other variables declared at this binding: the same buffer read as another type (`y4`, vec4s) by another
   * entry point ({@linkcode KernelSpec.entryPoints}); a binding has one type per entry point.
   */
  readonly views?: readonly string[];
}

/** One field of the kernel's `struct Params`. */
export interface ParamSpec<P extends string = string> {
  /** The field name, also the key in the values record given to {@linkcode packParams}. */
  readonly name: P;
  /** Its WGSL scalar type. */
  readonly type: ScalarType;
}

/** Workgroup counts for `dispatchWorkgroups(x, y, z)`. */
export type Dispatch = readonly [number, number, number];

/**
 * A compute kernel: one WGSL file with entry point `main`, its bindings (inputs, outputs, then the
 * `params` uniform last), its `Params` layout, its overrides and its dispatch math.
 *
 * `P` is the union of `Params` field names, `O` the union of override names.
 */
export interface KernelSpec<P extends string = string, O extends string = string> {
  /** The kernel stem (`conv2d`): file names, labels and pipeline-cache keys use it. */
  readonly name: string;
  /** The whole WGSL source, text-imported from `kernels/<name>.wgsl`. */
  readonly code: string;
  /** Binding declarations in `@binding` order. */
  readonly bindings: readonly BindingSpec[];
  /** `struct Params` fields in declaration order. */
  readonly params: readonly ParamSpec<P>[];
  /** Every `override` the shader declares, with its default (booleans as 0/1). */
  readonly overrides: Readonly<Record<O, number>>;
  /** Workgroup counts for one dispatch, from the Params values and the full override set. */
  dispatch(params: Readonly<Record<P, number>>, overrides: Readonly<Record<O, number>>): Dispatch;
  /**
   * Storage bindings whose elements are f16 (the kernel has `enable f16;` and needs `shader-f16`);
   * absent for f32 kernels. Weights bound there are uploaded as f16.
   */
  readonly f16?: readonly string[];
  /** Optional check of an override set; throws `RangeError` when the combination cannot work. */
  validate?(overrides: Readonly<Record<O, number>>): void;
  /**
   * Entry points besides `main`, each with the override (or overrides) that select it: compiled when
   * they are all nonzero, the first that matches in this order (the most specific first), e.g.
   * `{ main4: "VEC4" }` or `{ mainRow4: ["ROW", "VEC4_OUT"], mainRow: "ROW", main4: "VEC4_OUT" }`.
   */
  readonly entryPoints?: Readonly<Record<string, O | readonly O[]>>;
}

/**
 * The entry point compiled for a full override set: the first of `spec.entryPoints` whose overrides are
 * all nonzero, else `main`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { entryPointOf } from "./_spec.ts";
 * import { upsampleNearest } from "./upsample_nearest.ts";
 * assert.equal(entryPointOf(upsampleNearest, { ...upsampleNearest.overrides, VEC4: 1 }), "main4");
 * assert.equal(entryPointOf(upsampleNearest, upsampleNearest.overrides), "main");
 * ```
 */
export function entryPointOf<O extends string>(
  spec: Pick<KernelSpec<string, O>, "entryPoints">,
  overrides: Readonly<Record<O, number>>,
): string {
  return Object.entries(spec.entryPoints ?? {}).find(([, o]) =>
    entrySelectors(o as O | readonly O[]).every((k) => overrides[k])
  )
    ?.[0] ?? "main";
}

/**
 * The overrides that select an entry point of {@linkcode KernelSpec.entryPoints}, as a list.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { entrySelectors } from "./_spec.ts";
 * assert.deepEqual(entrySelectors("VEC4"), ["VEC4"]);
 * assert.deepEqual(entrySelectors(["ROW", "VEC4_OUT"]), ["ROW", "VEC4_OUT"]);
 * ```
 */
export function entrySelectors<O extends string>(o: O | readonly O[]): readonly O[] {
  return typeof o === "string" ? [o] : o;
}

/** The largest workgroup count WebGPU guarantees per dispatch dimension. */
export const MAX_WORKGROUPS_PER_DIMENSION = 65535;

/**
 * Folds a 1-D workgroup count into x and y so that neither exceeds
 * {@linkcode MAX_WORKGROUPS_PER_DIMENSION}. Shaders recover the linear index as
 * `wid.x + wid.y * nwg.x` and skip indices past the end.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { fold } from "./_spec.ts";
 * assert.deepEqual(fold(10), [10, 1]);
 * assert.deepEqual(fold(70000), [35000, 2]);
 * ```
 */
export function fold(workgroups: number): [number, number] {
  const n = Math.max(1, Math.ceil(workgroups));
  const y = Math.ceil(n / MAX_WORKGROUPS_PER_DIMENSION);
  return [Math.ceil(n / y), y];
}

/** Integer division rounding up. */
export function ceilDiv(a: number, b: number): number {
  return Math.ceil(a / b);
}

/** Merges `overrides` over the spec's defaults, rejecting names the kernel does not declare. */
export function resolveOverrides<O extends string>(
  spec: KernelSpec<string, O>,
  overrides?: Readonly<Partial<Record<O, number>>>,
): Record<O, number> {
  const full = { ...spec.overrides } as Record<O, number>;
  for (const [k, v] of Object.entries(overrides ?? {}) as [O, number | undefined][]) {
    if (!(k in spec.overrides)) {
      throw new RangeError(
        `Use one of the overrides of kernel "${spec.name}": "${k}" is not one (${
          Object.keys(spec.overrides).join(", ")
        })`,
      );
    }
    if (v === undefined) continue;
    if (typeof v !== "number" || !Number.isFinite(v)) {
      throw new RangeError(`Give override "${k}" of kernel "${spec.name}" a finite number: got ${v}`);
    }
    full[k] = v;
  }
  spec.validate?.(full);
  return full;
}

/** The size in bytes of a spec's `Params` uniform buffer (fields × 4, rounded up to 16). */
export function paramsByteLength(spec: KernelSpec): number {
  return Math.max(16, Math.ceil((spec.params.length * 4) / 16) * 16);
}

/**
 * Packs `Params` values into the bytes of the kernel's uniform buffer: field `i` at byte `4 * i`
 * with its declared scalar type, the tail zero-padded to a multiple of 16 bytes.
 *
 * @param spec The kernel whose `Params` layout to use.
 * @param values One number per field, keyed by field name.
 * @returns The uniform bytes.
 * @throws {RangeError} When a field is missing, or a `u32`/`i32` value is not an integer in range.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { type KernelSpec, packParams } from "./_spec.ts";
 * const spec: KernelSpec<"n" | "scale"> = {
 *   name: "toy", code: "", bindings: [],
 *   params: [{ name: "n", type: "u32" }, { name: "scale", type: "f32" }],
 *   overrides: {}, dispatch: () => [1, 1, 1],
 * };
 * const bytes = packParams(spec, { n: 3, scale: 0.5 });
 * assert.equal(bytes.byteLength, 16);
 * assert.equal(new Uint32Array(bytes)[0], 3);
 * assert.equal(new Float32Array(bytes)[1], 0.5);
 * ```
 */
export function packParams<P extends string>(
  spec: KernelSpec<P, string>,
  values: Readonly<Record<P, number>>,
): ArrayBuffer {
  const bytes = new ArrayBuffer(paramsByteLength(spec as KernelSpec));
  const view = new DataView(bytes);
  spec.params.forEach(({ name, type }, i) => {
    const v = values[name];
    if (typeof v !== "number" || Number.isNaN(v)) {
      throw new RangeError(`Give Params field "${name}" of kernel "${spec.name}" a number: got ${v}`);
    }
    if (type === "f32") {
      view.setFloat32(4 * i, v, true);
      return;
    }
    const [lo, hi] = type === "u32" ? [0, 0xffffffff] : [-0x80000000, 0x7fffffff];
    if (!Number.isInteger(v) || v < lo || v > hi) {
      throw new RangeError(
        `Give Params field "${name}" of kernel "${spec.name}" an integer in ${type} range: got ${v}`,
      );
    }
    if (type === "u32") view.setUint32(4 * i, v, true);
    else view.setInt32(4 * i, v, true);
  });
  return bytes;
}

/** Shorthand for a list of `u32` Params fields in order. */
export function u32Params<P extends string>(...names: P[]): ParamSpec<P>[] {
  return names.map((name) => ({ name, type: "u32" as const }));
}

/**
 * The `shader-f16` variant of a kernel: the same bindings, Params, overrides and dispatch over the kernel's
 * own `.wgsl` with `enable f16;` first and its `alias S = f32;` line made `alias S = f16;` (activations,
 * and weights bound as storage, held as f16; arithmetic in f32). Derived here rather than kept as a second
 * file, so the two cannot drift. Chosen only on a device with `shader-f16`.
 *
 * @throws {TypeError} When the kernel's code has no `alias S = f32;` line.
 */
export function f16Variant<P extends string, O extends string>(spec: KernelSpec<P, O>): KernelSpec<P, O> {
  const alias = /^alias S = f32;$/m;
  if (!alias.test(spec.code)) {
    throw new TypeError(`Cannot make an f16 variant of ${spec.name}: its .wgsl has no "alias S = f32;" line`);
  }
  const code = `enable f16;\n${spec.code.replace(alias, "alias S = f16;")}`;
  const f16 = spec.bindings.filter((b) => b.access !== "uniform" && !b.f32).map((b) => b.name);
  return { ...spec, name: `${spec.name}_f16`, code, f16 };
}

/** A line of WGSL with a `// subgroups: CODE` comment: its indent, and CODE. */
const SUBGROUP_LINE = /^([ \t]*)(?:\S.*?[ \t])?\/\/ subgroups: (.+)$/gm;

/**
 * The `subgroups` variant of a kernel: the same bindings, Params, overrides and dispatch over the kernel's
 * own `.wgsl` in which each line that ends in (or is) a `// subgroups: CODE` comment is replaced by CODE
 * (builtins such as `subgroup_invocation_id` and calls such as `subgroupShuffle` compile only on a device
 * with the `subgroups` feature, so they cannot sit in the plain kernel even unused). Chosen only where
 * `subgroupsWork` found whole, working subgroups.
 *
 * @throws {TypeError} When the kernel's code has no such line.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { type KernelSpec, subgroupVariant } from "./_spec.ts";
 * const spec: KernelSpec = {
 *   name: "toy", bindings: [], params: [], overrides: {}, dispatch: () => [1, 1, 1],
 *   code: "fn lane() -> u32 {\n  return 0u; // subgroups: return l;\n}\n",
 * };
 * const variant = subgroupVariant(spec);
 * assert.equal(variant.name, "toy_subgroups");
 * assert.equal(variant.code, "fn lane() -> u32 {\n  return l;\n}\n");
 * ```
 */
export function subgroupVariant<P extends string, O extends string>(
  spec: KernelSpec<P, O>,
): KernelSpec<P, O> {
  const code = spec.code.replace(
    SUBGROUP_LINE,
    (_, indent: string, alternative: string) => indent + alternative,
  );
  if (code === spec.code) {
    throw new TypeError(
      `Cannot make a subgroup variant of ${spec.name}: its .wgsl has no "// subgroups:" line`,
    );
  }
  return { ...spec, name: `${spec.name}_subgroups`, code };
}
