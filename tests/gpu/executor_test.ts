import assert from "node:assert/strict";
import { DEFAULT_FOLDS, Executor, FOLD_KINDS, MAX_PROGRAMS } from "../../src/gpu/executor.ts";
import { requestGpu } from "../../src/gpu/device.ts";
import { loadModel } from "../../src/load_model.ts";
import { randomArray } from "../_rand.ts";
import { assertClose } from "../_close.ts";
import { PipelineCache } from "../../src/gpu/pipeline_cache.ts";
import type { KernelSpec } from "../../kernels/_spec.ts";
import { type Conv2dTile, POST_FOLD_MAX_PIXELS } from "../../kernels/conv2d.ts";
import type { Graph } from "../../src/graph/ir.ts";
import type { FoldKind } from "../../src/gpu/autotune_folds.ts";

/** The kinds of fold a graph holds, in FOLD_KINDS order (`large` is a property of a shape: never named). */
function foldsIn(graph: Graph): FoldKind[] {
  const has = new Set<FoldKind>();
  for (const op of graph.ops) {
    if (op.op === "attention" && op.pe) has.add("pe");
    if (op.op !== "conv") continue;
    if (op.pre) has.add("pre");
    if (op.cat) has.add("cat");
    else if (op.post) has.add("post");
    if (op.up) has.add("up");
  }
  return FOLD_KINDS.filter((k) => has.has(k));
}

Deno.test("the executor keeps the programs of the most recently used shapes only, and rebuilds evicted ones", async () => {
  const gpu = await requestGpu();
  const exec = new Executor(gpu, await loadModel("yolo11n-seg.yaml"));
  try {
    const shapes = Array.from({ length: MAX_PROGRAMS + 2 }, (_, i) => [1, 3, 32, 32 * (i + 1)]);
    const inputs = shapes.map((s, i) => randomArray(s.reduce((a, b) => a * b), 100 + i, 0, 1));
    const first = await exec.forward(inputs[0], shapes[0]);
    for (let i = 1; i < shapes.length; i++) await exec.forward(inputs[i], shapes[i]);
    const keys = shapes.map((s) => `${s[0]}x${s[2]}x${s[3]}`);
    assert.deepEqual(exec.residentShapes, keys.slice(-MAX_PROGRAMS));
    // a resident shape moves to the back when used again
    await exec.forward(inputs[3], shapes[3]);
    assert.equal(exec.residentShapes.at(-1), keys[3]);
    // the evicted first shape is built again and gives the same outputs
    const again = await exec.forward(inputs[0], shapes[0]);
    assert.deepEqual(again.output0.data, first.output0.data);
    assert.deepEqual(again.output1!.data, first.output1!.data);
    assert.equal(exec.residentShapes.length, MAX_PROGRAMS);
  } finally {
    exec.dispose();
  }
});

Deno.test("autotuning picks a conv2d tile per layer by GPU time, keeps the outputs and remembers choices", async () => {
  const gpu = await requestGpu();
  assert.ok(gpu.features.timestamps, "the test adapter has timestamp-query");
  const dir = await Deno.makeTempDir({ prefix: "yolo-wgsl-tune-" });
  const tuneCache = `${dir}/cache/tune.json`;
  // The big-GPU plan (conv2d GEMM tiles), as on a hardware adapter, tuned and not.
  const hardware = { ...gpu, software: false };
  const model = await loadModel("yolo11n-seg.yaml");
  const tuned = new Executor(hardware, model, { tune: true, tuneCache, fuse: FOLD_KINDS });
  const plain = new Executor(hardware, model, { tune: false });
  const again = new Executor(hardware, model, { tune: true, tuneCache, fuse: FOLD_KINDS }, tuned.cache); // compiled pipelines shared
  try {
    assert.equal(new Executor(gpu, model).tune, false, "off by default on a software adapter");
    const shape = [1, 3, 64, 96];
    const input = randomArray(64 * 96 * 3, 7, 0, 1);
    const a = await tuned.forward(input, shape);
    const b = await plain.forward(input, shape);
    // Tiles only change speed; a split-K choice also the summation order.
    assertClose(a.output0.data, b.output0.data, { atol: 1e-3, rtol: 1e-4 }, "output0");
    assertClose(a.output1!.data, b.output1!.data, { atol: 1e-4, rtol: 1e-4 }, "output1");
    assert.equal(await plain.tuneReport(shape), undefined);
    const report = (await tuned.tuneReport(shape))!;
    assert.equal(report.shape, "1x64x96");
    assert.equal(report.filled, true, "timed on a synthetic image's activations, not on zeros");
    assert.ok(report.layers.length >= 40, `${report.layers.length} tuned layers`);
    for (const l of report.layers) {
      assert.ok(
        l.candidates >= 2 && l.bestMs > 0 && l.bestMs <= l.heuristicMs && !l.cached,
        JSON.stringify(l),
      );
      assert.match(l.kernel, /^conv2d\|/);
    }
    // C2PSA's attention: its kernel (key streams or whole rows) and tile timed too.
    assert.equal(report.attention.length, 1);
    const [attn] = report.attention;
    assert.equal(attn.label, "model.10.m.0.attn");
    assert.match(attn.kernel, /^attention(_rows)?\|/);
    assert.ok(
      attn.candidates >= 4 && attn.bestMs > 0 && attn.bestMs <= attn.heuristicMs,
      JSON.stringify(attn),
    );
    // The choices were written; a new executor takes them from the file without timing.
    const file = JSON.parse(await Deno.readTextFile(tuneCache));
    const entries = Object.keys(file.entries).length; // layers of identical shape and views share one
    assert.ok(entries >= 20 && entries <= report.layers.length, `${entries} cache entries`);
    const c = await again.forward(input, shape);
    assert.deepEqual(c.output0.data, a.output0.data);
    const cached = (await again.tuneReport(shape))!;
    assert.equal(cached.filled, false, "nothing timed, so no filling forward");
    assert.deepEqual(
      cached.layers.map((l) => [l.label, l.kernel, l.cached]),
      report.layers.map((l) => [l.label, l.kernel, true]),
    );
    assert.deepEqual(cached.attention.map((l) => [l.kernel, l.cached]), [[attn.kernel, true]]);
    // Whole-row attention, taken from the cache (the timing may not pick it here), gives the same outputs.
    const saved = await Deno.readTextFile(tuneCache);
    const edited = JSON.parse(saved);
    const attnKeys = Object.keys(edited.entries).filter((k) => edited.entries[k].kernel);
    assert.equal(attnKeys.length, 1, "one attention entry");
    for (const [qb, wg] of [[8, 64], [4, 256]]) {
      edited.entries[attnKeys[0]] = {
        ...edited.entries[attnKeys[0]],
        kernel: "attention_rows",
        tile: { WG: wg, QB: qb, MAX_N: 6, HEAD_DIM: 64, KEY_DIM: 32, PE_K: 3 }, // with C2PSA's pe folded in
      };
      await Deno.writeTextFile(tuneCache, JSON.stringify(edited));
      const rows = new Executor(hardware, model, { tune: true, tuneCache, fuse: FOLD_KINDS }, tuned.cache); // its pipelines
      try {
        const r = await rows.forward(input, shape);
        const [choice] = (await rows.tuneReport(shape))!.attention;
        assert.equal(choice.kernel, `attention_rows|HEAD_DIM=64,KEY_DIM=32,MAX_N=6,PE_K=3,QB=${qb},WG=${wg}`);
        assert.ok(choice.cached);
        assertClose(r.output0.data, a.output0.data, { atol: 1e-4, rtol: 1e-4 }, `rows ${qb}x${wg} output0`);
        assertClose(r.output1!.data, a.output1!.data, { atol: 1e-4, rtol: 1e-4 }, `rows ${qb}x${wg} output1`);
      } finally {
        rows.dispose();
      }
    }
    await Deno.writeTextFile(tuneCache, saved);
    // A corrupt cache file is ignored (and rewritten).
    await Deno.writeTextFile(tuneCache, "{ not json");
    const fresh = new Executor(hardware, model, { tune: true, tuneCache, fuse: FOLD_KINDS }, tuned.cache);
    try {
      const d = await fresh.forward(input, shape); // timed again: maybe other tiles, other split sums
      assertClose(d.output0.data, a.output0.data, { atol: 1e-3, rtol: 1e-4 }, "re-tuned output0");
      assert.ok((await fresh.tuneReport(shape))!.layers.every((l) => !l.cached));
      assert.equal(Object.keys(JSON.parse(await Deno.readTextFile(tuneCache)).entries).length, entries);
    } finally {
      fresh.dispose();
    }
  } finally {
    tuned.dispose();
    plain.dispose();
    again.dispose();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("forward results stay valid and unchanged after later forwards reuse the readback buffers", async () => {
  const gpu = await requestGpu();
  const exec = new Executor(gpu, await loadModel("yolo11n-seg.yaml"));
  try {
    const shape = [1, 3, 32, 64];
    const first = await exec.forward(randomArray(32 * 64 * 3, 1, 0, 1), shape);
    const kept = first.output0.data.slice();
    const keptProtos = first.output1!.data.slice();
    const second = await exec.forward(randomArray(32 * 64 * 3, 2, 0, 1), shape);
    assert.notDeepEqual(second.output0.data, kept);
    assert.equal(first.output0.data.length, kept.length);
    assert.deepEqual(first.output0.data, kept);
    assert.deepEqual(first.output1!.data, keptProtos);
  } finally {
    exec.dispose();
  }
});

Deno.test("several forwards in flight (submit, submit, read in any order) each give their own outputs", async () => {
  const gpu = await requestGpu();
  const exec = new Executor(gpu, await loadModel("yolo11n-seg.yaml"));
  try {
    const shape = [1, 3, 32, 64];
    const inputs = [11, 12, 13].map((seed) => randomArray(32 * 64 * 3, seed, 0, 1));
    const want = [];
    for (const x of inputs) want.push(await exec.forward(x, shape));
    const pending = [];
    for (const x of inputs) pending.push(await exec.submit(x, shape));
    const between = await exec.forward(inputs[1], shape); // a forward while three are unread
    assert.equal(pending[0].read(), pending[0].read(), "one read promise");
    const got = [await pending[2].read(), await pending[0].read(), await pending[1].read()];
    assert.deepEqual(got[0].output0.data, want[2].output0.data);
    assert.deepEqual(got[1].output0.data, want[0].output0.data);
    assert.deepEqual(got[2].output1!.data, want[1].output1!.data);
    assert.deepEqual(between.output0.data, want[1].output0.data);
    // A failed submit (bad input length) leaves the executor working.
    await assert.rejects(exec.submit(new Float32Array(5), shape), RangeError);
    assert.deepEqual((await exec.forward(inputs[0], shape)).output0.data, want[0].output0.data);
    // A forward in flight whose shape's program is evicted (other shapes built meanwhile) still reads back.
    const early = await exec.submit(inputs[2], shape);
    for (let i = 0; i < MAX_PROGRAMS + 1; i++) {
      const w = 32 * (i + 3); // 96, 128, ...: shapes other than 32x64
      await exec.forward(randomArray(32 * w * 3, 50 + i, 0, 1), [1, 3, 32, w]);
    }
    assert.ok(!exec.residentShapes.includes("1x32x64"), "evicted");
    assert.deepEqual((await early.read()).output0.data, want[2].output0.data);
  } finally {
    exec.dispose();
  }
});

Deno.test("split-K convs (forced by tuneFilter; one with an upsampled copy) give the unsplit network's outputs, f32 and f16", async () => {
  const gpu = await requestGpu();
  const hardware = { ...gpu, software: false };
  const model = await loadModel("yolo11n-seg.yaml");
  const shape = [2, 3, 64, 64];
  const input = randomArray(2 * 64 * 64 * 3, 9, 0, 1);
  for (const half of gpu.features.f16 ? [false, true] : [false]) {
    const split = new Executor(hardware, model, {
      half,
      halfMath: false, // f16 storage, f32 arithmetic: the split sums are what differs here
      tune: true,
      fuse: FOLD_KINDS, // every fold, untimed
      // f16 also runs the prefetching path; one group per workgroup, single buffers (to keep the test short)
      tuneFilter: (t) => t.KSPLIT > 1 && t.PREFETCH === (half ? 1 : 0) && t.WG_K === 1 && t.BUFFERS === 1,
    });
    const plain = new Executor(hardware, model, { half, tune: false });
    try {
      const a = await split.forward(input, shape);
      const b = await plain.forward(input, shape);
      const report = (await split.tuneReport(shape))!;
      const splitLayers = report.layers.filter((l) => /KSPLIT=[2-8]/.test(l.kernel));
      assert.ok(splitLayers.length >= 10, `${splitLayers.length} split layers`);
      // The reduce then writes the folded upsample's copy too (f32; in f16 that layer has no prefetching split).
      const upsampled = splitLayers.some((l) => l.label.endsWith("+upsample") && /UP_R=2/.test(l.kernel));
      assert.ok(upsampled || half);
      assert.ok(report.layers.every((l) => Number.isNaN(l.heuristicMs) && !l.cached));
      const tol = half ? { atol: 0.5, rtol: 2e-2 } : { atol: 1e-3, rtol: 1e-4 };
      assertClose(a.output0.data, b.output0.data, tol, `output0${half ? " f16" : ""}`);
      assertClose(a.output1!.data, b.output1!.data, half ? { atol: 2e-2, rtol: 2e-2 } : tol, "output1");
    } finally {
      split.dispose();
      plain.dispose();
    }
  }
});

Deno.test("in half mode the autotuner also times f16 arithmetic on each layer's three fastest tiles", async () => {
  const gpu = await requestGpu();
  if (!gpu.features.f16) return; // lavapipe (the test adapter) has shader-f16
  const hardware = { ...gpu, software: false };
  const model = await loadModel("yolo11n-seg.yaml");
  const shape = [1, 3, 64, 64];
  const input = randomArray(64 * 64 * 3, 11, 0, 1);
  // Single-pass 4x4 tiles only (and no vec4 A staging), so both tunings see the same short candidate lists.
  const tuneFilter = (t: Required<Conv2dTile>) =>
    t.KSPLIT === 1 && t.PREFETCH === 0 && t.BUFFERS === 1 && t.WG_K === 1 && t.BK === 16 && t.PIX4 === 1 &&
    t.CH4 === 1 && t.VEC_A === 0;
  const auto = new Executor(hardware, model, { half: true, tune: true, tuneFilter, fuse: FOLD_KINDS });
  const f32Math = new Executor(hardware, model, {
    half: true,
    halfMath: false,
    tune: true,
    tuneFilter,
    fuse: FOLD_KINDS,
  });
  const plain = new Executor(hardware, model, { half: true, halfMath: false, tune: false });
  try {
    const a = await auto.forward(input, shape);
    const b = await plain.forward(input, shape);
    const withMath = (await auto.tuneReport(shape))!.layers;
    const without = (await f32Math.tuneReport(shape))!.layers;
    assert.equal(withMath.length, without.length);
    withMath.forEach((l, i) => {
      const n = without[i].candidates;
      assert.equal(l.candidates, n + Math.min(3, n), `${l.label}: ${l.candidates} vs ${n}`);
      assert.match(l.kernel, /^conv2d_f16(_math)?\|/);
    });
    assert.ok(without.every((l) => /^conv2d_f16\|/.test(l.kernel)), "halfMath: false never picks it");
    assertClose(a.output0.data, b.output0.data, { atol: 1, rtol: 2e-2 }, "output0, f16 arithmetic");
    assertClose(a.output1!.data, b.output1!.data, { atol: 3e-2, rtol: 3e-2 }, "output1, f16 arithmetic");
  } finally {
    auto.dispose();
    f32Math.dispose();
    plain.dispose();
  }
});

Deno.test("autotuning skips candidates the driver rejects instead of failing the model", async () => {
  const gpu = await requestGpu();
  const hardware = { ...gpu, software: false };
  // A pipeline cache that refuses every 8x8 register tile, as a driver might.
  class Refusing extends PipelineCache {
    override get<P extends string, O extends string>(
      spec: KernelSpec<P, O>,
      overrides: Partial<Record<O, number>> = {},
    ) {
      const o = overrides as Record<string, number>;
      if (o.PIX4 === 2 && o.CH4 === 2) return Promise.reject(new Error("refused by the test driver"));
      return super.get(spec, overrides);
    }
  }
  const model = await loadModel("yolo11n-seg.yaml");
  // Plain single-pass tiles only (the refused 8x8 ones among them), to keep the test short.
  const tuneFilter = (t: Required<Conv2dTile>) =>
    t.KSPLIT === 1 && t.PREFETCH === 0 && t.BUFFERS === 1 && t.WG_K === 1;
  const exec = new Executor(
    hardware,
    model,
    { tune: true, tuneCache: false, tuneFilter, fuse: FOLD_KINDS },
    new Refusing(gpu.device),
  );
  const plain = new Executor(hardware, model, { tune: false });
  try {
    const shape = [1, 3, 32, 64];
    const input = randomArray(32 * 64 * 3, 3, 0, 1);
    const a = await exec.forward(input, shape);
    assertClose(
      a.output0.data,
      (await plain.forward(input, shape)).output0.data,
      { atol: 1e-3, rtol: 1e-4 },
      "out",
    );
    const report = (await exec.tuneReport(shape))!;
    assert.ok(report.layers.length > 20);
    assert.ok(report.layers.every((l) => !/CH4=2,.*PIX4=2/.test(l.kernel)), "no refused tile chosen");
  } finally {
    exec.dispose();
    plain.dispose();
  }
});

for (
  const [name, pre, post, cat, shape] of [["yolo11n-seg.yaml", 6, 23, 10, [1, 3, 64, 96]], [
    "yolov8n-seg.yaml",
    0,
    21,
    8,
    [2, 3, 64, 64],
  ]] as const
) {
  Deno.test(`${name}: the hardware plan folds depthwise convs, 1x1 convs (also over a concat) and upsamples into their neighbours, with the software plan's outputs`, async () => {
    const gpu = await requestGpu();
    const model = await loadModel(name);
    const hardware = new Executor({ ...gpu, software: false }, model, { tune: false });
    const software = new Executor({ ...gpu, software: true }, model, { tune: false });
    const unfused = new Executor({ ...gpu, software: false }, model, { tune: false, fuse: false });
    try {
      const folds = (e: Executor, k: "pre" | "post" | "cat" | "up") =>
        e.graph.ops.filter((op) => op.op === "conv" && op[k]).length;
      assert.equal(folds(hardware, "pre"), pre, "depthwise convs inside the 1x1 convs after them");
      assert.equal(
        folds(hardware, "post"),
        post,
        "1x1 convs inside the convs of <= 128 channels before them",
      );
      assert.equal(folds(hardware, "cat"), cat, "C2f/C3k2 cv2 and head cv1 convs (over a concat) among them");
      assert.equal(folds(hardware, "up"), 1, "the first head upsample inside the conv before it");
      const attention = hardware.graph.ops.filter((op) => op.op === "attention");
      assert.deepEqual(
        attention.map((op) => op.op === "attention" && op.pe?.k),
        pre ? [3] : [],
        "C2PSA's pe",
      );
      // Batch 2 at 640: the post-conv folds of layers above POST_FOLD_MAX_PIXELS (the 160x160 ones) are undone.
      const posts = (g: Graph) => g.ops.flatMap((op) => op.op === "conv" && op.post ? [op] : []);
      const pixels = (g: Graph, v: number) => 2 * (640 / g.values[v].stride) ** 2;
      const big = hardware.graphAt(2, 640, 640);
      const kept = posts(big).map((op) => op.name);
      const dropped = posts(hardware.graph).filter((op) => !kept.includes(op.name));
      assert.deepEqual(
        dropped.map((op) => pixels(hardware.graph, op.y)),
        [51200, 51200, 51200],
        "model.1's, model.2's cv2 and Proto's",
      );
      assert.ok(posts(big).every((op) => pixels(big, op.y) <= POST_FOLD_MAX_PIXELS));
      // With large (the fold tuner tries it), those three folds are made again.
      const large = hardware.graphAt(2, 640, 640, FOLD_KINDS);
      assert.deepEqual(posts(large).map((op) => op.name), posts(hardware.graph).map((op) => op.name));
      assert.equal(
        big.ops.filter((op) => op.op === "conv").length,
        hardware.graph.ops.filter((op) => op.op === "conv").length + 3,
      );
      assert.equal(hardware.graph.ops.filter((op) => op.op === "upsample").length, 1);
      for (const e of [software, unfused]) {
        assert.equal(folds(e, "pre") + folds(e, "post") + folds(e, "cat") + folds(e, "up"), 0);
      }
      const input = randomArray(shape.reduce((a: number, b: number) => a * b, 1), 17, 0, 1);
      const a = await hardware.forward(input, [...shape]);
      const b = await software.forward(input, [...shape]);
      assertClose(a.output0.data, b.output0.data, { atol: 1e-3, rtol: 1e-4 }, "output0");
      assertClose(a.output1!.data, b.output1!.data, { atol: 1e-4, rtol: 1e-4 }, "output1");
    } finally {
      for (const e of [hardware, software, unfused]) e.dispose();
    }
  });
}

Deno.test("fold tuning: the kinds of fold are chosen by timing whole forwards, and a rebuilt shape takes the choice from the cache", async () => {
  const gpu = await requestGpu();
  const hardware = { ...gpu, software: false };
  const model = await loadModel("yolo11n-seg.yaml");
  // No conv tile candidates (heuristic tiles): the forwards timed differ in their folds only.
  const exec = new Executor(hardware, model, { tune: true, tuneFilter: () => false, maxPrograms: 1 });
  const unfused = new Executor(hardware, model, { tune: false, fuse: false });
  try {
    assert.deepEqual(foldsIn(exec.graph), [...DEFAULT_FOLDS], "YOLO11n-seg has every kind");
    assert.deepEqual(foldsIn(unfused.graph), []);
    const shape = [1, 3, 64, 64];
    const input = randomArray(64 * 64 * 3, 21, 0, 1);
    const a = await exec.forward(input, shape);
    const folds = (await exec.tuneReport(shape))!.folds!;
    assert.deepEqual(
      folds.present,
      [...DEFAULT_FOLDS],
      "no layer above POST_FOLD_MAX_PIXELS: large changes nothing",
    );
    assert.equal(folds.cached, false);
    assert.ok(folds.kinds.every((k) => folds.present.includes(k)), folds.kinds.join());
    assert.equal(folds.timings.length, 10, "every kind, then each removal beside the re-timed incumbent");
    assert.deepEqual(folds.timings[0].kinds, [...DEFAULT_FOLDS]);
    assert.ok(folds.timings.every((t) => t.ms > 0 && Number.isFinite(t.ms)), JSON.stringify(folds.timings));
    // The program runs the chosen graph: the same kernel calls as an untimed executor making those kinds.
    const pinned = new Executor(hardware, model, { tune: false, fuse: folds.kinds });
    try {
      const labels = async (e: Executor) => (await e.profile(input, shape)).map((s) => s.label);
      assert.deepEqual(await labels(exec), await labels(pinned));
    } finally {
      pinned.dispose();
    }
    const b = await unfused.forward(input, shape);
    assertClose(a.output0.data, b.output0.data, { atol: 1e-3, rtol: 1e-4 }, "output0");
    assertClose(a.output1!.data, b.output1!.data, { atol: 1e-4, rtol: 1e-4 }, "output1");
    // Evicted (one program resident) and built again: the choice comes from the (in-memory, filtered)
    // tuning cache, nothing timed.
    assert.ok((await exec.tuneReport([2, 3, 64, 64]))!.folds!.timings.length > 0, "batch 2: its own choice");
    assert.deepEqual(exec.residentShapes, ["2x64x64"]);
    const again = (await exec.tuneReport(shape))!.folds!;
    assert.deepEqual(again, { kinds: folds.kinds, present: folds.present, timings: [], cached: true });
    assert.deepEqual((await exec.forward(input, shape)).output0.data, a.output0.data);
    // fuse as a list: exactly those kinds, untimed; an unknown kind is a RangeError.
    const some = new Executor(hardware, model, { tune: true, tuneFilter: () => false, fuse: ["pre", "up"] });
    try {
      assert.deepEqual(foldsIn(some.graph), ["pre", "up"]);
      assert.equal((await some.tuneReport(shape))!.folds, undefined);
    } finally {
      some.dispose();
    }
    assert.throws(
      () => new Executor(hardware, model, { fuse: ["pre", "mix" as FoldKind] }),
      /Give fuse as true, false or kinds among pre, pe, cat, post, up, large: got mix/,
    );
    assert.throws(
      () => new Executor(hardware, model, { maxPrograms: 0 }),
      /Give maxPrograms as a whole number/,
    );
  } finally {
    exec.dispose();
    unfused.dispose();
  }
});
