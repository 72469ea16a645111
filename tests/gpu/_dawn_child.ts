/**
 * The Dawn side of `dawn_test.ts`, run in a process of its own. On this machine Dawn reaches llvmpipe through
 * Mesa's OpenGL (EGL), and Mesa's OpenGL stack loaded in `deno test --parallel` workers now and then corrupts
 * the heap as the process exits, after every test passed (glibc "corrupted size vs. prev_size"; seen with Dawn
 * in a worker, and with wgpu's own OpenGL backend, which `tests/_run.ts` therefore leaves off). Here Dawn is
 * loaded into a main thread, as `cli.ts webgpu=dawn` loads it.
 *
 *   deno run -A tests/gpu/_dawn_child.ts forward|predict   (prints one JSON line)
 *
 * @module
 */
import { requestGpu } from "../../src/gpu/device.ts";
import { Executor } from "../../src/gpu/executor.ts";
import { loadModel } from "../../src/load_model.ts";
import { YOLO } from "../../src/yolo.ts";
import { sha1 } from "../_sha1.ts";
import { DAWN_CASE } from "./_dawn_case.ts";

async function forward(): Promise<unknown> {
  const gpu = await requestGpu({ webgpu: "dawn" });
  const { early } = await gpu.reader.behaviour();
  const model = await loadModel(DAWN_CASE.model);
  const plans: Record<string, { output0: number[]; output1: number[] }> = {};
  try {
    for (const software of DAWN_CASE.plans(gpu.software)) {
      const executor = new Executor({ ...gpu, software }, model, DAWN_CASE.options(software));
      try {
        const out = await executor.forward(DAWN_CASE.input(), DAWN_CASE.shape);
        plans[String(software)] = { output0: [...out.output0.data], output1: [...out.output1!.data] };
      } finally {
        executor.dispose();
      }
    }
  } finally {
    gpu.device.destroy();
  }
  return { software: gpu.software, early, plans };
}

async function predict(): Promise<unknown> {
  const model = await YOLO.load(DAWN_CASE.checkpoint(), { webgpu: "dawn" });
  try {
    const [r] = await model.predict(DAWN_CASE.image());
    return {
      cls: [...r.boxes.cls],
      xyxy: [...r.boxes.xyxy],
      conf: [...r.boxes.conf],
      masks: r.masks ? { shape: r.masks.shape, digest: await sha1(r.masks.data) } : null,
    };
  } finally {
    model.dispose();
  }
}

const what = Deno.args[0];
if (what !== "forward" && what !== "predict") {
  console.error(`Usage: deno run -A tests/gpu/_dawn_child.ts forward|predict (got ${what})`);
  Deno.exit(2);
}
console.log(JSON.stringify(what === "forward" ? await forward() : await predict()));
