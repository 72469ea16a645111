/**
 * The memory plan is checked by an independent liveness simulation: walking the ops in order, every
 * value's bytes (buffer, channel range) must stay untouched from the op that writes them to the last op
 * that reads them (a concat's parts until the concat's own last read), and no op may write memory it reads.
 */
import assert from "node:assert/strict";
import { fuseResidualAdds } from "../../src/graph/fuse.ts";
import { builtinModelYaml, parseModelYaml } from "../../src/graph/model_yaml.ts";
import { parseModel } from "../../src/graph/parse_model.ts";
import { opInputs, opOutputs, type Plan, planMemory } from "../../src/graph/plan.ts";
import { type CallLimits, planCalls } from "../../src/ops/plan_calls.ts";
import { type Conv2dParams, conv2dVecFits } from "../../kernels/conv2d.ts";
import { attention, type AttentionOverrides, attentionWorkgroupBytes } from "../../kernels/attention.ts";
import {
  attentionRows,
  type AttentionRowsOverrides,
  attentionRowsWorkgroupBytes,
} from "../../kernels/attention_rows.ts";
import { attentionHeuristic, attentionVariants } from "../../src/ops/attention.ts";
import {
  conv2dUniform,
  type Conv2dUniformOverrides,
  type Conv2dUniformParams,
  conv2dUniformVec4In,
  conv2dUniformVec4Out,
} from "../../kernels/conv2d_uniform.ts";

function graphOf(name: string) {
  return fuseResidualAdds(parseModel(parseModelYaml(builtinModelYaml(name)!, name), name).graph);
}

/** Memory cells a value occupies: buffer, region base and channel range (regions of one buffer never overlap in time). */
function cells(plan: Plan, v: number) {
  const loc = plan.locs[v];
  const region = plan.regions[loc.region];
  return {
    buffer: region.buffer,
    region: loc.region,
    base: loc.base,
    c0: loc.cOff,
    c1: loc.cOff + plan.shapes[v].c,
  };
}

function overlaps(a: ReturnType<typeof cells>, b: ReturnType<typeof cells>): boolean {
  if (a.buffer !== b.buffer) return false;
  if (a.region !== b.region) return true; // two regions in one buffer: whole overlap
  if (a.base !== b.base) return false; // the head region's levels are disjoint sub-tensors
  return a.c0 < b.c1 && b.c0 < a.c1;
}

function simulate(plan: Plan) {
  const ops = plan.ops;
  // When a value's contents must survive to: its last read; concat parts until the concat result's last read.
  const until = new Map<number, number>();
  const read = (v: number, i: number) => until.set(v, Math.max(until.get(v) ?? -1, i));
  ops.forEach((op, i) => {
    if (op.op === "concat") return;
    for (const x of opInputs(op)) read(x, i);
  });
  for (const v of Object.values(plan.outputs)) until.set(v, Infinity);
  for (let i = ops.length - 1; i >= 0; i--) {
    const op = ops[i];
    if (op.op === "concat") { for (const x of op.xs) read(x, until.get(op.y) ?? i); }
    if (op.op === "split") { for (const y of op.ys) read(op.x, until.get(y) ?? i); }
  }
  const live = new Map<number, number>(); // value → op index written
  live.set(plan.input, -1);
  ops.forEach((op, i) => {
    if (op.op === "split" || op.op === "concat") {
      // A split's pieces, and a concat's result, stand for the same bytes as what they come from.
      const from = opInputs(op).map((x) => live.get(x) ?? i);
      for (const x of opInputs(op)) live.delete(x);
      for (const y of opOutputs(op)) live.set(y, Math.min(...from));
      return;
    }
    const ins = opInputs(op);
    for (const y of opOutputs(op)) {
      const cy = cells(plan, y);
      for (const x of ins) {
        if (op.op === "detect") continue; // detect reads the head region and writes output0 elsewhere
        assert.ok(!overlaps(cy, cells(plan, x)), `op ${i} (${op.op}) writes value ${y} over its input ${x}`);
      }
      for (const [v, at] of live) {
        if (v === y || (until.get(v) ?? -1) < i || at >= i) continue;
        assert.ok(
          !overlaps(cy, cells(plan, v)),
          `op ${i} (${op.op} ${"name" in op ? op.name : ""}) writes value ${y} over live value ${v}`,
        );
      }
      live.set(y, i);
    }
  });
}

for (
  const [name, n, h, w] of [["yolo11n-seg.yaml", 1, 640, 640], ["yolo11s-seg.yaml", 2, 480, 640], [
    "yolov8n-seg.yaml",
    1,
    320,
    256,
  ]] as const
) {
  Deno.test(`plan for ${name} at ${n}x3x${h}x${w} keeps every live value intact`, () => {
    const plan = planMemory(graphOf(name), n, h, w);
    simulate(plan);
    const naive = plan.shapes.reduce((s, v) => s + v.n * v.c * v.h * v.w, 0);
    const planned = plan.buffers.reduce((s, b) => s + b, 0);
    assert.ok(planned < naive / 2, `buffers hold ${planned} floats, not much below ${naive}`);
    assert.equal(plan.anchors, (h / 8) * (w / 8) + (h / 16) * (w / 16) + (h / 32) * (w / 32));
  });
}

Deno.test("plan rejects sizes that are not multiples of 32", () => {
  assert.throws(() => planMemory(graphOf("yolo11n-seg.yaml"), 1, 600, 640), /multiple of 32: got 600x640/);
});

Deno.test("planCalls splits C2PSA's keys over streams on a big GPU at batch 1 only; a software adapter runs whole score rows where they fit, else one stream", () => {
  const attentionOf = (n: number, size: number, limits: CallLimits) =>
    planCalls(planMemory(graphOf("yolo11n-seg.yaml"), n, size, size), limits)
      .filter((c) => c.spec.name.startsWith("attention"))
      .map((c): [string, Record<string, number>] => [c.spec.name, c.overrides]);
  const kvSplit = (n: number, limits: CallLimits) => attentionOf(n, 640, limits).map(([, o]) => o.KV_SPLIT);
  const h200 = { maxWorkgroupStorage: 49152, maxInvocations: 1024, targetWorkgroups: 264 };
  assert.deepEqual(kvSplit(1, h200), [3]); // 4 streams would need 58 KiB
  assert.deepEqual(kvSplit(32, h200), [1]); // 32 images x 2 heads x 25 query blocks fill the GPU
  const lavapipe = {
    maxWorkgroupStorage: 32768,
    maxInvocations: 256,
    software: true,
    targetWorkgroups: 8,
    lanes: 8,
  };
  // 640x640: 400 keys, rows of 8 queries in 14 KiB; 16 invocations hold a head's 64 value columns as vec4s.
  assert.deepEqual(attentionOf(1, 640, lavapipe), [
    ["attention_rows", { KEY_DIM: 32, HEAD_DIM: 64, QB: 8, MAX_N: 400, WG: 16, PE_K: 0 }],
  ]);
  // 1280x1280: 1600 keys' rows need 52 KiB, so the key streams, one per workgroup.
  assert.deepEqual(attentionOf(1, 1280, lavapipe), [
    ["attention", { KEY_DIM: 32, HEAD_DIM: 64, WG_Q: 8, KV_SPLIT: 1, PE_K: 0 }],
  ]);
});

Deno.test("planCalls on a software adapter with working subgroups: every uniform conv reads its weights through them where the subgroup has a lane per weight vec4", () => {
  const plan = planMemory(graphOf("yolo11n-seg.yaml"), 1, 640, 640);
  const names = (limits: CallLimits) =>
    planCalls(plan, { software: true, targetWorkgroups: 8, ...limits }).map((c) => c.spec.name)
      .filter((n) => n.startsWith("conv2d_uniform"));
  const plain = names({ lanes: 8 });
  assert.ok(plain.length > 100 && plain.every((n) => n === "conv2d_uniform"));
  // The transposed conv's phases (Proto's upsample) too.
  assert.deepEqual(names({ lanes: 8, subgroups: true }), plain.map(() => "conv2d_uniform_subgroups"));
  // 4 lanes (a 128-bit llvmpipe): the convs of TN4 <= 4 only.
  const narrow = planCalls(plan, { software: true, targetWorkgroups: 8, lanes: 4, subgroups: true })
    .filter((c) => c.spec.name.startsWith("conv2d_uniform"));
  for (const c of narrow) {
    assert.equal(c.spec.name, c.overrides.TN4! <= 4 ? "conv2d_uniform_subgroups" : "conv2d_uniform", c.label);
  }
  assert.ok(narrow.some((c) => c.spec.name === "conv2d_uniform_subgroups"));
});

Deno.test("planCalls on a software adapter: conv2d_uniform with one SIMD group per workgroup, vec4 stores where the views allow, row tiles that split the rows evenly, detect in two halves, vec4 upsamples, pools and depthwise convs", () => {
  const plan = planMemory(graphOf("yolo11n-seg.yaml"), 1, 640, 640);
  const calls = planCalls(plan, { software: true, targetWorkgroups: 8, lanes: 16 });
  const convs = calls.filter((c) => c.spec.name === "conv2d_uniform");
  assert.ok(convs.length > 100, `${convs.length} conv2d_uniform calls`);
  for (const c of convs) {
    assert.equal(c.overrides.WG, 16, c.label);
    const p = c.params as unknown as Conv2dUniformParams;
    const o = { ...conv2dUniform.overrides, ...c.overrides } as Conv2dUniformOverrides;
    assert.equal(c.overrides.VEC4_OUT, conv2dUniformVec4Out(p, o) ? 1 : 0, c.label);
    assert.equal(
      c.overrides.VEC4_IN,
      (!o.ROW || o.STRIDE === 1) && conv2dUniformVec4In(p, o) ? 1 : 0,
      c.label,
    );
    // ROW tiles split the output rows evenly: 320- to 80-wide maps in 16s, 40 and 20 in 10s.
    assert.equal(o.TM, o.ROW && p.outW % 16 !== 0 ? 10 : 16, `${c.label} ${p.outW}`);
  }
  assert.deepEqual(
    [...new Set(convs.filter((c) => c.overrides.ROW === 1).map((c) => c.overrides.TM))].sort(),
    [10, 16],
  );
  // Every spread-tile conv (1x1) and stride-1 row tile loads four input channels at a time; no stride-2 one.
  const spread = convs.filter((c) => c.overrides.ROW === 0);
  assert.ok(spread.length > 50, `${spread.length} spread convs`);
  assert.deepEqual(spread.filter((c) => c.overrides.VEC4_IN !== 1).map((c) => c.label), []);
  const rowS1 = convs.filter((c) => c.overrides.ROW === 1 && c.overrides.STRIDE === 1);
  assert.ok(rowS1.length > 30, `${rowS1.length} stride-1 row convs`);
  assert.deepEqual(rowS1.filter((c) => c.overrides.VEC4_IN !== 1).map((c) => c.label), []);
  assert.ok(convs.every((c) => !(c.overrides.ROW && c.overrides.STRIDE === 2 && c.overrides.VEC4_IN)));
  // YOLO11n-seg's channel counts and concat offsets are multiples of 4 except where it writes NCHW output.
  const vec4 = convs.filter((c) => c.overrides.VEC4_OUT === 1).length;
  assert.ok(vec4 > 0.9 * convs.length, `${vec4} of ${convs.length} with vec4 stores`);
  const detects = calls.filter((c) => c.spec.name === "detect").map((
    c,
  ) => [c.overrides.PART, c.overrides.JOBS]);
  assert.deepEqual(detects, [[1, 2], [2, 8]]);
  // Both upsamples (256 and 128 channels into concats at multiples of 4) four channels per invocation.
  const vec4Of = (name: string) => calls.filter((c) => c.spec.name === name).map((c) => c.overrides.VEC4);
  assert.deepEqual(vec4Of("upsample_nearest"), [1, 1]);
  assert.deepEqual(vec4Of("maxpool2d_cascade"), [1]);
  // The depthwise convs (Segment's cv3 heads: 64, 80, 128, 80, 256, 80 channels; C2PSA's pe) too.
  assert.deepEqual(vec4Of("dwconv2d_uniform"), [1, 1, 1, 1, 1, 1, 1]);
  const hardware = planCalls(plan, {
    maxWorkgroupStorage: 49152,
    maxInvocations: 1024,
    targetWorkgroups: 264,
  });
  assert.deepEqual(hardware.filter((c) => c.spec.name === "detect").map((c) => c.overrides.PART ?? 0), [0]);
  assert.deepEqual(hardware.filter((c) => c.spec.name === "upsample_nearest").map((c) => c.overrides.VEC4), [
    0,
    0,
  ]);
});

Deno.test("the attention variants the autotuner times: the heuristic first, key streams and whole rows, all fitting the device", () => {
  const h200 = { maxWorkgroupStorage: 49152, maxInvocations: 1024, targetWorkgroups: 264 };
  const variants = attentionVariants(32, 64, 400, 2, h200);
  assert.deepEqual(variants[0], attentionHeuristic(32, 64, 400, 2, h200));
  assert.deepEqual(variants[0].overrides, { KEY_DIM: 32, HEAD_DIM: 64, WG_Q: 4, KV_SPLIT: 3, PE_K: 0 });
  const names = variants.map((v) => `${v.spec.name} ${JSON.stringify(v.overrides)}`);
  assert.equal(new Set(names).size, names.length, "no variant twice");
  const rows = variants.filter((v) => v.spec === attentionRows);
  assert.deepEqual(rows.map((v) => [v.overrides.QB, v.overrides.WG, v.overrides.MAX_N]), [
    [8, 256, 400],
    [8, 128, 400],
    [8, 64, 400],
    [4, 256, 400],
    [4, 128, 400],
    [4, 64, 400],
  ]);
  const streams = variants.filter((v) => v.spec === attention);
  assert.ok(streams.length >= 6, `${streams.length} key-stream variants`);
  for (const v of streams) {
    attention.validate!(v.overrides as AttentionOverrides);
    assert.ok(attentionWorkgroupBytes(v.overrides as AttentionOverrides) <= 49152, names.join("; "));
  }
  // With C2PSA's positional conv folded in, every variant carries it.
  const withPe = attentionVariants(32, 64, 400, 2, h200, 3);
  assert.equal(withPe.length, variants.length);
  assert.ok(withPe.every((v) => v.overrides.PE_K === 3));
  // 80x80 (2560 input): no row fits; 16 KiB leaves the smaller tiles only.
  assert.ok(attentionVariants(32, 64, 6400, 2, h200).every((v) => v.spec === attention));
  const small = attentionVariants(32, 64, 400, 2, { maxWorkgroupStorage: 16384, maxInvocations: 256 });
  for (const v of small) {
    const bytes = v.spec === attention
      ? attentionWorkgroupBytes(v.overrides as AttentionOverrides)
      : attentionRowsWorkgroupBytes(v.overrides as AttentionRowsOverrides);
    assert.ok(bytes <= 16384, JSON.stringify(v.overrides));
  }
});

Deno.test("planCalls runs SPPF's three chained pools as one maxpool2d_cascade call writing the concat's slices 1..3", () => {
  const plan = planMemory(graphOf("yolo11n-seg.yaml"), 2, 320, 256);
  const calls = planCalls(plan);
  assert.equal(calls.filter((c) => c.spec.name === "maxpool2d").length, 0);
  const pools = calls.filter((c) => c.spec.name === "maxpool2d_cascade");
  assert.equal(pools.length, 1);
  const [pool] = pools;
  // cv1's output lies in the concat's buffer the pools write: read through y, x bound to a dummy.
  assert.deepEqual(pool.overrides, { KSIZE: 5, X_IN_Y: 1, VEC4: 0 });
  assert.deepEqual(pool.bind.x, { dummy: true });
  const p = pool.params;
  assert.deepEqual([p.batch, p.height, p.width, p.channels], [2, 10, 8, 128]);
  // cv1's output is slice 0 of the concat cv2 reads; the pools write slices 1, 2 and 3 of it.
  assert.deepEqual([p.y1Stride, p.y2Stride, p.y3Stride], [512, 512, 512]);
  assert.deepEqual([p.y1Off - p.xOff, p.y2Off - p.xOff, p.y3Off - p.xOff], [128, 256, 384]);
  assert.equal(p.xStride, 512);
  const next = calls[calls.indexOf(pool) + 1];
  assert.equal(next.label, "model.9.cv2");
});

Deno.test("planCalls binds conv2d's vec4 view of the input (x4) to the input itself, and most YOLO11 convs can use it", () => {
  const plan = planMemory(graphOf("yolo11n-seg.yaml"), 1, 640, 640);
  const convs = planCalls(plan, { maxWorkgroupStorage: 49152, maxInvocations: 1024 })
    .filter((c) => c.spec.name === "conv2d");
  assert.ok(convs.length >= 90, `${convs.length} conv2d calls`);
  for (const c of convs) assert.deepEqual(c.bind.x4, c.bind.x, c.label);
  const vec = convs.filter((c) => conv2dVecFits(c.params as Conv2dParams, !!c.overrides.IN_NCHW));
  // All but model.0 (the 3-channel NCHW image): every other input view is 4-aligned in YOLO11n.
  assert.deepEqual(convs.filter((c) => !vec.includes(c)).map((c) => c.label), ["model.0"]);
});

Deno.test("planCalls never binds one buffer twice in a call where a binding is writable (WebGPU forbids it)", () => {
  let throughY = 0;
  for (const name of ["yolo11n-seg.yaml", "yolov8n-seg.yaml", "yolo11x-seg.yaml"]) {
    for (const [n, h, w] of [[1, 640, 640], [2, 320, 256]]) {
      const plan = planMemory(graphOf(name), n, h, w);
      for (const software of [false, true]) {
        for (const call of planCalls(plan, { maxWorkgroupStorage: 32768, maxInvocations: 1024, software })) {
          const writable = new Set(
            call.spec.bindings.filter((b) => b.access === "read_write").map((b) => b.name),
          );
          const byBuffer = new Map<number, string[]>();
          for (const [b, t] of Object.entries(call.bind)) {
            if (!("value" in t || "region" in t)) continue;
            const buffer = plan.regions["value" in t ? plan.locs[t.value].region : t.region].buffer;
            byBuffer.set(buffer, [...(byBuffer.get(buffer) ?? []), b]);
          }
          for (const names of byBuffer.values()) {
            assert.ok(
              names.length === 1 || !names.some((b) => writable.has(b)),
              `${name} ${n}x${h}x${w} ${software ? "software" : "hardware"} ${call.label}: ${
                names.join(", ")
              }`,
            );
          }
          if (call.overrides.R_IN_Y || call.overrides.X_IN_Y || call.params.residual === 2) throughY++;
        }
      }
    }
  }
  // Bottleneck residuals and SPPF's input live in the concat their call writes into: read through y.
  assert.ok(throughY >= 20, `${throughY} calls read a view through y`);
});
