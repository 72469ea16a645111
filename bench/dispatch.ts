/**
 * What one dispatch costs on the GPU beyond its work: the floor under every small layer of a batch-1
 * forward. A tiny kernel (each invocation updates one float) is recorded N times in one compute pass and
 * the pass is timed with GPU timestamps; the slope over N is the cost of a dispatch:
 *
 * - `dependent`: every dispatch reads and writes the same buffer (as a network's layers do, so the
 *   implementation puts a barrier between them);
 * - `independent`: each dispatch writes its own buffer (no barrier needed);
 * - `pass each`: one timestamped pass per dispatch (how the autotuner and `--profile` time a layer).
 *
 * Each is measured with the GPU idle before the submit ("cold") and right after ~0.3 s of back-to-back
 * work ("busy"), which shows whether the GPU's clocks ramp down between the forwards of a batch-1 loop.
 *
 *   deno run -A bench/dispatch.ts [--workgroups 132] [--n 1,32,128]
 * @module
 */
import { parseArgs } from "node:util";
import { requestGpu } from "../src/gpu/device.ts";
import { percentile } from "./_stats.ts";

const { values } = parseArgs({
  options: {
    workgroups: { type: "string", default: "132" },
    n: { type: "string", default: "1,32,128" },
    repeats: { type: "string", default: "5" },
  },
});
const workgroups = Number(values.workgroups);
const counts = values.n.split(",").map(Number);
const repeats = Number(values.repeats);
const gpu = await requestGpu();
const device = gpu.device;
if (!gpu.features.timestamps) {
  console.log("this adapter has no timestamp-query: nothing to measure");
  Deno.exit(0);
}
const info = gpu.adapter?.info;
console.log(
  `adapter: ${info?.description || info?.vendor || "unknown"}; ${workgroups} workgroups of 64 per dispatch`,
);

const module = device.createShaderModule({
  code: `
@group(0) @binding(0) var<storage, read_write> y: array<f32>;
override LOOPS: u32 = 1u;
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) g: vec3<u32>) {
  var v = y[g.x];
  for (var i = 0u; i < LOOPS; i++) {
    v = fma(v, 0.999, 0.5);
  }
  y[g.x] = v;
}`,
});
const pipeline = (loops: number) =>
  device.createComputePipeline({
    layout: "auto",
    compute: { module, entryPoint: "main", constants: { LOOPS: loops } },
  });
const tiny = pipeline(1);
const heavy = pipeline(16384);
const maxN = Math.max(...counts);
const bytes = workgroups * 64 * 4;
const buffers = Array.from(
  { length: maxN },
  () => device.createBuffer({ size: bytes, usage: GPUBufferUsage.STORAGE }),
);
const groups = buffers.map((buffer) =>
  device.createBindGroup({
    layout: tiny.getBindGroupLayout(0),
    entries: [{ binding: 0, resource: { buffer } }],
  })
);
const heavyGroup = device.createBindGroup({
  layout: heavy.getBindGroupLayout(0),
  entries: [{ binding: 0, resource: { buffer: buffers[0] } }],
});

const slots = 2 * maxN;
const querySet = device.createQuerySet({ type: "timestamp", count: slots });
const resolve = device.createBuffer({
  size: slots * 8,
  usage: GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC,
});
const readback = device.createBuffer({
  size: slots * 8,
  usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
});

type Mode = "dependent" | "independent" | "pass each";

let heavyPerSubmit = 0;

/** Keeps the GPU busy for about `ms` milliseconds: submits of ~20 ms of heavy dispatches each. */
async function busy(ms: number): Promise<void> {
  if (heavyPerSubmit === 0) {
    heavyPerSubmit = 1;
    const one = await measure("dependent", 1, heavy, heavyGroup); // microseconds of one heavy dispatch
    heavyPerSubmit = Math.max(1, Math.min(4096, Math.ceil(20000 / Math.max(one, 1))));
  }
  const t0 = performance.now();
  while (performance.now() - t0 < ms) {
    const encoder = device.createCommandEncoder();
    const pass = encoder.beginComputePass();
    pass.setPipeline(heavy);
    pass.setBindGroup(0, heavyGroup);
    for (let i = 0; i < heavyPerSubmit; i++) pass.dispatchWorkgroups(workgroups);
    pass.end();
    device.queue.submit([encoder.finish()]);
    await device.queue.onSubmittedWorkDone();
  }
}

/** GPU microseconds of N tiny dispatches recorded in `mode` (summed over the passes for `pass each`). */
async function measure(
  mode: Mode,
  n: number,
  pipe: GPUComputePipeline = tiny,
  group?: GPUBindGroup,
): Promise<number> {
  const encoder = device.createCommandEncoder();
  const passes = mode === "pass each" ? n : 1;
  for (let p = 0; p < passes; p++) {
    const pass = encoder.beginComputePass({
      timestampWrites: { querySet, beginningOfPassWriteIndex: 2 * p, endOfPassWriteIndex: 2 * p + 1 },
    });
    pass.setPipeline(pipe);
    for (let i = 0; i < (mode === "pass each" ? 1 : n); i++) {
      pass.setBindGroup(0, group ?? groups[mode === "independent" ? i : 0]);
      pass.dispatchWorkgroups(workgroups);
    }
    pass.end();
  }
  encoder.resolveQuerySet(querySet, 0, 2 * passes, resolve, 0);
  encoder.copyBufferToBuffer(resolve, 0, readback, 0, 2 * passes * 8);
  device.queue.submit([encoder.finish()]);
  await readback.mapAsync(GPUMapMode.READ);
  const t = new BigInt64Array(readback.getMappedRange(0, 2 * passes * 8));
  let ns = 0;
  for (let p = 0; p < passes; p++) ns += Number(t[2 * p + 1] - t[2 * p]);
  readback.unmap();
  return ns / 1000;
}

const fmt = (us: number) => us.toFixed(1).padStart(8);
for (const warm of ["cold", "busy"] as const) {
  for (const mode of ["dependent", "independent", "pass each"] as Mode[]) {
    const medians: number[] = [];
    for (const n of counts) {
      const us: number[] = [];
      for (let r = 0; r < repeats; r++) {
        if (warm === "busy") await busy(300);
        else await new Promise((done) => setTimeout(done, 200)); // let the GPU go idle
        us.push(await measure(mode, n));
      }
      medians.push(percentile(us, 50));
    }
    const first = counts[0], last = counts[counts.length - 1];
    const slope = (medians[medians.length - 1] - medians[0]) / (last - first);
    console.log(
      `${warm} ${mode.padEnd(11)}: ${counts.map((n, i) => `N=${n} ${fmt(medians[i])} us`).join(", ")}; ${
        slope.toFixed(2)
      } us per dispatch`,
    );
  }
}
device.destroy();
