/**
 * Every kernel in kernels/mod.ts: its .wgsl text agrees with its spec (bindings in order with
 * names and access, `struct Params` fields with names, order and types, overrides with defaults,
 * entry points `main` and the spec's others, views of one binding), and it compiles with its default overrides
 * (and each other entry point) on the device. So does every f16 variant
 * and cast kernel (on lavapipe, which has `shader-f16`); an f16 variant is its f32 file with `enable f16;`
 * first and `alias S = f16;` (derived by `f16Variant`), and its spec lists the f16 bindings.
 */
import assert from "node:assert/strict";
import {
  entryPointOf,
  entrySelectors,
  packParams,
  paramsByteLength,
  subgroupVariant,
} from "../../kernels/_spec.ts";
import { castKernels, f16Kernels, kernels } from "../../kernels/mod.ts";
import { pipelineKey } from "../../src/gpu/pipeline_cache.ts";
import { testGpu } from "../_gpu.ts";

/** The WGSL text without `//` and `/* *\/` comments. */
function stripComments(code: string): string {
  return code.replaceAll(/\/\*[\s\S]*?\*\//g, "").replaceAll(/\/\/[^\n]*/g, "");
}

/**
 * The bindings in declaration order; a binding declared again (the same buffer as another type for another
 * entry point) lists the later names as its views, each with the same access.
 */
function parseBindings(code: string): { index: number; name: string; access: string; views?: string[] }[] {
  const re = /@group\(\s*0\s*\)\s*@binding\(\s*(\d+)\s*\)\s*var\s*<\s*([\w\s,]+?)\s*>\s*(\w+)\s*:/g;
  const out: { index: number; name: string; access: string; views?: string[] }[] = [];
  for (const m of code.matchAll(re)) {
    const space = m[2].split(",").map((s) => s.trim());
    const access = space[0] === "uniform" ? "uniform" : space[1] ?? "read";
    const first = out.find((b) => b.index === Number(m[1]));
    if (!first) out.push({ index: Number(m[1]), name: m[3], access });
    else {
      assert.equal(access, first.access, `view ${m[3]} of ${first.name}: same access`);
      first.views = [...first.views ?? [], m[3]];
    }
  }
  return out.sort((a, b) => a.index - b.index);
}

function parseParams(code: string): { name: string; type: string }[] {
  const body = code.match(/struct\s+Params\s*\{([^}]*)\}/);
  assert.ok(body, "struct Params is declared");
  return body[1].split(",").map((s) => s.trim()).filter((s) => s.length > 0).map((field) => {
    const m = field.match(/^(\w+)\s*:\s*(\w+)$/);
    assert.ok(m, `Params field "${field}" is "name: scalar"`);
    return { name: m[1], type: m[2] };
  });
}

function parseOverrides(code: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const m of code.matchAll(/override\s+(\w+)\s*:\s*(\w+)\s*=\s*([^;]+);/g)) {
    const literal = m[3].trim();
    out[m[1]] = literal === "true" ? 1 : literal === "false" ? 0 : Number(literal.replace(/[uif]$/, ""));
  }
  return out;
}

const f16Specs = Object.fromEntries(Object.values(f16Kernels).map((spec) => [spec.name, spec]));

for (const [stem, spec] of Object.entries({ ...kernels, ...f16Specs, ...castKernels })) {
  Deno.test(`spec: ${stem}.wgsl matches kernels/${stem}.ts`, () => {
    assert.equal(spec.name, stem);
    const code = stripComments(spec.code);

    const bindings = parseBindings(code);
    assert.deepEqual(
      bindings,
      spec.bindings.map((b, index) => ({
        index,
        name: b.name,
        access: b.access,
        ...(b.views ? { views: [...b.views] } : {}),
      })),
      "bindings: names, order, access",
    );
    const accesses = spec.bindings.map((b) => b.access);
    const firstWrite = accesses.indexOf("read_write");
    assert.ok(firstWrite > 0, "at least one input before the outputs");
    assert.ok(accesses.slice(0, firstWrite).every((a) => a !== "read_write"), "inputs first");
    assert.deepEqual(spec.bindings.at(-1), { name: "params", access: "uniform" }, "params uniform last");
    assert.match(code, /var\s*<\s*uniform\s*>\s*params\s*:\s*Params\s*;/);

    assert.deepEqual(parseParams(code), spec.params.map((p) => ({ name: p.name, type: p.type })), "Params");
    assert.deepEqual(parseOverrides(code), { ...spec.overrides }, "overrides and defaults");
    for (const name of Object.keys(spec.overrides)) assert.match(name, /^[A-Z][A-Z0-9_]*$/);

    const entries = [...code.matchAll(/@compute\s+@workgroup_size\([^)]*\)\s*fn\s+(\w+)\s*\(/g)].map((m) =>
      m[1]
    );
    assert.equal(
      [...code.matchAll(/@compute/g)].length,
      entries.length,
      "every @compute a workgroup-sized fn",
    );
    assert.deepEqual(
      entries,
      ["main", ...Object.keys(spec.entryPoints ?? {})],
      "entry points main, then the spec's",
    );
    for (const o of Object.values(spec.entryPoints ?? {})) {
      for (const k of entrySelectors(o)) assert.ok(k in spec.overrides, `selector ${k}`);
    }

    const values = Object.fromEntries(spec.params.map((p) => [p.name, 1]));
    assert.equal(packParams(spec, values).byteLength, paramsByteLength(spec));
    const dispatch = spec.dispatch(values, spec.overrides);
    assert.ok(dispatch.every((n) => Number.isInteger(n) && n >= 1), `dispatch ${dispatch}`);
  });

  Deno.test(`spec: ${stem} compiles with its default overrides (and each other entry point)`, async () => {
    const { cache } = await testGpu();
    const kernel = await cache.get(spec);
    assert.equal(kernel.key, pipelineKey(spec));
    assert.equal(kernel.pipeline.label, kernel.key);
    for (const [name, o] of Object.entries(spec.entryPoints ?? {})) {
      const set = Object.fromEntries(entrySelectors(o).map((k) => [k, 1]));
      assert.equal(entryPointOf(spec, { ...spec.overrides, ...set }), name);
      const other = await cache.get(spec, set as never);
      assert.notEqual(other.pipeline, kernel.pipeline, name);
    }
  });
}

Deno.test("spec: pipeline cache shares one pipeline per override set", async () => {
  const { cache } = await testGpu();
  const spec = kernels.maxpool2d;
  const [a, b] = await Promise.all([cache.get(spec, { KSIZE: 3 }), cache.get(spec, { KSIZE: 3, WG: 64 })]);
  assert.equal(a, b);
  assert.equal(a.key, "maxpool2d|KSIZE=3,STRIDE=1,WG=64");
  assert.notEqual(await cache.get(spec, { KSIZE: 5 }), a);
  assert.throws(() => cache.get(spec, { NOPE: 1 } as never), RangeError);
});

Deno.test("spec: packParams rejects missing and out-of-range values", () => {
  const spec = kernels.copy_channels;
  const values = Object.fromEntries(spec.params.map((p) => [p.name, 1]));
  assert.throws(() => packParams(spec, { ...values, batch: -1 }), RangeError);
  assert.throws(() => packParams(spec, { ...values, batch: 1.5 }), RangeError);
  const { batch: _, ...missing } = values;
  assert.throws(() => packParams(spec, missing), RangeError);
});

Deno.test("spec: bind groups name missing bindings", async () => {
  const { cache } = await testGpu();
  const kernel = await cache.get(kernels.copy_channels);
  assert.throws(() => cache.bindGroup(kernel, { x: cache.dummyFor("x") }), /Bind buffer "y"/);
  assert.throws(
    () => cache.bindGroup(kernel, { x: cache.dummyFor("x"), q: cache.dummyFor("q") }),
    /"q" is not a binding/,
  );
});

Deno.test("spec: a bind group binding one buffer twice where a binding is writable is refused, naming both", async () => {
  const { device, cache } = await testGpu();
  const kernel = await cache.get(kernels.conv2d);
  const act = device.createBuffer({ label: "act", size: 64, usage: GPUBufferUsage.STORAGE });
  const one = device.createBuffer({ label: "one", size: 64, usage: GPUBufferUsage.STORAGE });
  const params = cache.params(
    kernels.conv2d,
    Object.fromEntries(kernels.conv2d.params.map((p) => [p.name, 0])),
  );
  const others = ["w", "b", "p", "x4", "aux"].map((n) => [n, cache.dummyFor(n)]);
  const bind = (x: GPUBuffer, r: GPUBuffer, y: GPUBuffer) =>
    cache.bindGroup(kernel, { ...Object.fromEntries(others), x, r, y, params });
  try {
    // x (read) and y (written), or r (read_write) and y, in one buffer: WebGPU forbids both.
    assert.throws(() => bind(act, cache.dummyFor("r"), act), /Bind x and y of .*all are act/);
    assert.throws(() => bind(one, act, act), /Bind r and y of .*all are act/);
    // x and x4 both read: one buffer is fine.
    const group = cache.bindGroup(kernel, {
      ...Object.fromEntries(others),
      x: one,
      x4: one,
      r: cache.dummyFor("r"),
      y: act,
      params,
    });
    assert.ok(group);
  } finally {
    for (const b of [act, one, params]) b.destroy();
  }
});

/** Binding names whose storage array holds f16 (directly, or through `alias S = f16`). */
function f16Bindings(code: string): string[] {
  const alias = code.match(/alias\s+S\s*=\s*(\w+)\s*;/)?.[1];
  const re = /var\s*<\s*storage[\w\s,]*>\s*(\w+)\s*:\s*array<(?:vec\d<)?(\w+)>/g;
  return [...code.matchAll(re)].filter((m) => m[2] === "f16" || (m[2] === "S" && alias === "f16")).map((m) =>
    m[1]
  );
}

for (const [stem, spec] of Object.entries(kernels)) {
  Deno.test(`spec: ${stem} is f32 only`, () => {
    assert.doesNotMatch(stripComments(spec.code), /enable\s+f16|\bf16\b/);
    assert.equal(spec.f16, undefined);
  });
}

for (const [stem, spec] of Object.entries(f16Kernels)) {
  Deno.test(`spec: ${stem}_f16 is ${stem}.wgsl with enable f16 and alias S = f16, same contract`, () => {
    const f32 = kernels[stem];
    assert.equal(spec.name, `${stem}_f16`);
    assert.equal(spec.code.match(/^alias S = f16;$/gm)?.length, 1);
    assert.equal(spec.code, `enable f16;\n${f32.code.replace(/^alias S = f32;$/m, "alias S = f16;")}`);
    const { name: _a, code: _b, f16: _c, ...contract } = spec;
    const { name: _d, code: _e, ...f32Contract } = f32;
    assert.deepEqual(contract, f32Contract, "same bindings, Params, overrides and dispatch");
  });
}

for (const [stem, spec] of Object.entries({ ...f16Specs, ...castKernels })) {
  Deno.test(`spec: ${stem} lists its f16 bindings`, async () => {
    assert.match(spec.code, /^enable f16;/);
    const views = spec.bindings.flatMap((b) => b.views ?? []);
    assert.deepEqual(spec.f16, f16Bindings(stripComments(spec.code)).filter((n) => !views.includes(n)));
    const { gpu } = await testGpu();
    assert.ok(gpu.features.f16, "the test device has shader-f16 (lavapipe has it)");
  });
}

Deno.test("spec: conv2d_uniform_subgroups is conv2d_uniform.wgsl with its subgroups lines, same contract", () => {
  const plain = kernels.conv2d_uniform;
  const variant = kernels.conv2d_uniform_subgroups;
  assert.equal(variant.name, "conv2d_uniform_subgroups");
  const plainLines = plain.code.split("\n");
  const variantLines = variant.code.split("\n");
  assert.equal(variantLines.length, plainLines.length, "one line for one line");
  const changed = plainLines.flatMap((line, i) => line === variantLines[i] ? [] : [[line, variantLines[i]]]);
  assert.equal(changed.length, 4, "the lane builtin, laneOf, laneWeights and weightOf");
  for (const [line, replaced] of changed) {
    const m = line.match(/^(\s*)(?:\S.*\s)?\/\/ subgroups: (.+)$/);
    assert.ok(m, line);
    assert.equal(replaced, m[1] + m[2]);
  }
  // No subgroup builtin or call in the plain kernel's code (it compiles without the feature).
  assert.doesNotMatch(stripComments(plain.code), /subgroup/i);
  assert.match(stripComments(variant.code), /@builtin\(subgroup_invocation_id\)/);
  assert.match(stripComments(variant.code), /subgroupShuffle\(/);
  const { name: _a, code: _b, validate: _c, ...contract } = variant;
  const { name: _d, code: _e, validate: _f, ...plainContract } = plain;
  assert.deepEqual(contract, plainContract, "same bindings, Params, overrides, entry points and dispatch");
  // Lane j holds weight vec4 j: a workgroup narrower than TN4 is refused.
  const o = { ...variant.overrides, TN4: 8 };
  assert.throws(() => variant.validate!({ ...o, WG: 4 }), /at least TN4 8 lanes/);
  variant.validate!({ ...o, WG: 8 });
  assert.throws(() => variant.validate!({ ...o, TN4: 9, WG: 16 }), /TN4 to 1..8/);
});

Deno.test("spec: subgroupVariant refuses a kernel without subgroups lines", () => {
  assert.throws(
    () => subgroupVariant(kernels.copy_channels),
    /copy_channels: its .wgsl has no "\/\/ subgroups:" line/,
  );
});
