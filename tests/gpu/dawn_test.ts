/**
 * `webgpu: "dawn"`: the network and the predictor on Chromium's Dawn (`npm:webgpu`; on this machine its
 * OpenGL backend over Mesa's llvmpipe, as lavapipe lacks a Vulkan feature Dawn needs) against Deno's own
 * WebGPU. Dawn validates what wgpu does not (a buffer bound twice with one binding writable, WGSL constants
 * out of f32 range), so these runs also check that every dispatch the engine records is valid WebGPU.
 *
 * Dawn's side runs in a child process (`_dawn_child.ts`, which says why); Deno's here, on the same case
 * (`_dawn_case.ts`).
 */
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { requestGpu } from "../../src/gpu/device.ts";
import { Executor } from "../../src/gpu/executor.ts";
import { loadModel } from "../../src/load_model.ts";
import { YOLO } from "../../src/yolo.ts";
import { assertClose } from "../_close.ts";
import { sha1 } from "../_sha1.ts";
import { DAWN_CASE } from "./_dawn_case.ts";

/** Runs `_dawn_child.ts what` and returns its JSON line; its exit status must be 0. */
async function onDawn<T>(what: "forward" | "predict"): Promise<T> {
  const child = fileURLToPath(new URL("./_dawn_child.ts", import.meta.url));
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", child, what],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout);
  const errors = new TextDecoder().decode(out.stderr);
  assert.equal(out.code, 0, `_dawn_child.ts ${what} exited with ${out.code}:\n${errors}`);
  const line = text.trim().split("\n").at(-1) ?? "";
  return JSON.parse(line) as T;
}

Deno.test("webgpu dawn: the software and hardware plans give Deno's WebGPU outputs", async () => {
  const dawn = await onDawn<
    {
      software: boolean;
      early: boolean;
      plans: Record<string, { output0: number[]; output1: number[] }>;
    }
  >(
    "forward",
  );
  // Dawn resolves a read map when it is done, as the spec has it: its reads await the map (src/gpu/map_read.ts).
  assert.equal(dawn.early, false, "Dawn's read maps are not early");
  const expected = DAWN_CASE.plans(dawn.software);
  assert.deepEqual(Object.keys(dawn.plans), expected.map(String), "Dawn ran every plan");
  const gpu = await requestGpu({ webgpu: "deno" });
  const model = await loadModel(DAWN_CASE.model);
  try {
    for (const software of expected) {
      const theirs = new Executor({ ...gpu, software }, model, DAWN_CASE.options(software));
      try {
        const b = await theirs.forward(DAWN_CASE.input(), DAWN_CASE.shape);
        const a = dawn.plans[String(software)];
        const plan = software ? "software plan" : "hardware plan";
        assert.equal(a.output0.length, b.output0.data.length, `${plan} output0 size`);
        assertClose(
          new Float32Array(a.output0),
          b.output0.data,
          { atol: 1e-4, rtol: 1e-4 },
          `${plan} output0`,
        );
        assertClose(
          new Float32Array(a.output1),
          b.output1!.data,
          { atol: 1e-4, rtol: 1e-4 },
          `${plan} output1`,
        );
      } finally {
        theirs.dispose();
      }
    }
  } finally {
    gpu.device.destroy();
  }
});

Deno.test("webgpu dawn: predict gives Deno's WebGPU results (boxes, classes, masks)", async () => {
  interface Found {
    cls: number[];
    xyxy: number[];
    conf: number[];
    masks: { shape: number[]; digest: string } | null;
  }
  const a = await onDawn<Found>("predict");
  const deno = await YOLO.load(DAWN_CASE.checkpoint(), { webgpu: "deno" });
  try {
    const [b] = await deno.predict(DAWN_CASE.image());
    assert.ok(b.boxes.cls.length > 0, "the reference image has detections");
    assert.deepEqual(a.cls, [...b.boxes.cls]);
    assertClose(new Float32Array(a.xyxy), b.boxes.xyxy, { atol: 1e-3, rtol: 0 }, "boxes");
    assertClose(new Float32Array(a.conf), b.boxes.conf, { atol: 1e-5, rtol: 0 }, "conf");
    assert.deepEqual(a.masks, { shape: b.masks!.shape, digest: await sha1(b.masks!.data) });
  } finally {
    deno.dispose();
  }
});

Deno.test("webgpu: an unknown implementation is a one-line error", async () => {
  await assert.rejects(
    () => requestGpu({ webgpu: "chrome" as never }),
    /Set webgpu \(or \$YOLO_WGSL_WEBGPU\) to deno or dawn: got chrome/,
  );
});
