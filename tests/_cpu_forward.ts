/**
 * The network on the CPU: the same memory plan and kernel calls the GPU executor runs, each executed by
 * its plain-TypeScript twin in src/cpu/ (weights in PyTorch order). An oracle for models with no ONNX
 * export (YAML-built YOLOv8-seg, YOLO11s/m-seg); use small inputs, it is slow.
 */
import { attention } from "../src/cpu/attention.ts";
import { maxpool2dCascade } from "../src/cpu/maxpool2d_cascade.ts";
import { conv2d } from "../src/cpu/conv2d.ts";
import { convTranspose2d } from "../src/cpu/conv_transpose2d.ts";
import { copyChannels } from "../src/cpu/copy_channels.ts";
import { detect } from "../src/cpu/detect.ts";
import { dwconv2d } from "../src/cpu/dwconv2d.ts";
import { maxpool2d } from "../src/cpu/maxpool2d.ts";
import { upsampleNearest } from "../src/cpu/upsample_nearest.ts";
import {
  fuseAttentionPe,
  fuseConcatPostConvs,
  fuseDepthwisePreConvs,
  fusePostConvs,
  fuseResidualAdds,
  fuseSiblingConvs,
  fuseUpsamples,
} from "../src/graph/fuse.ts";
import { planMemory } from "../src/graph/plan.ts";
import type { LoadedModel } from "../src/load_model.ts";
import { planCalls } from "../src/ops/plan_calls.ts";

// deno-lint-ignore no-explicit-any
type Twin = (buf: any, p: any, o: any) => void;
const TWINS: Record<string, Twin> = {
  conv2d,
  dwconv2d,
  conv_transpose2d: convTranspose2d,
  maxpool2d,
  maxpool2d_cascade: maxpool2dCascade,
  upsample_nearest: upsampleNearest,
  copy_channels: copyChannels,
  attention,
  detect,
};

/**
 * Run `model` on `[n, 3, h, w]` with the CPU twins; returns output0 and output1 like the executor. With
 * `siblings`, on the graph with sibling convs merged as the executor runs it (`fuseSiblingConvs`); with `pre`,
 * depthwise convs folded into the 1x1 convs that read them as well (`fuseDepthwisePreConvs`, hardware
 * adapters); with `post`, 1x1 convs folded into the convs whose output they alone read (`fusePostConvs`,
 * and `fuseConcatPostConvs` for C2f/C3k2 blocks' cv2);
 * with `up`, nearest upsamples folded into the convs whose output they copy (`fuseUpsamples`); with `pe`,
 * C2PSA's positional conv folded into its attention (`fuseAttentionPe`).
 */
export function cpuForward(
  model: LoadedModel,
  data: Float32Array,
  shape: number[],
  siblings = false,
  pre = false,
  post = false,
  up = false,
  pe = false,
) {
  const [n, , h, w] = shape;
  const residual = fuseResidualAdds(model.parsed.graph);
  const merged = siblings ? fuseSiblingConvs(residual, model.state) : { graph: residual, state: model.state };
  const folded = pre ? fuseDepthwisePreConvs(merged.graph) : merged.graph;
  const posted = post ? fusePostConvs(fuseConcatPostConvs(folded)) : folded;
  const upsampled = up ? fuseUpsamples(posted) : posted;
  const graph = pe ? fuseAttentionPe(upsampled) : upsampled;
  const state = merged.state;
  const plan = planMemory(graph, n, h, w);
  const buffers = plan.buffers.map((e) => new Float32Array(e));
  const bufferOf = (region: number) => buffers[plan.regions[region].buffer];
  bufferOf(plan.locs[plan.input].region).set(data);
  // Tiles are no concern of the twins: limits large enough for any post-conv tile.
  for (const call of planCalls(plan, { maxWorkgroupStorage: 1 << 20, maxInvocations: 1024 })) {
    const buf: Record<string, Float32Array | undefined> = {};
    for (const [name, t] of Object.entries(call.bind)) {
      buf[name] = "value" in t
        ? bufferOf(plan.locs[t.value].region)
        : "region" in t
        ? bufferOf(t.region)
        : "weight" in t && (t.packing === "conv2d_pre" || t.packing === "conv2d_post")
        ? new Float32Array([ // the twin's layout
          ...state.get(t.weight)!.data,
          ...state.get(t.bias!)!.data,
          ...(t.post ? [...state.get(t.post.weight)!.data, ...state.get(t.post.bias)!.data] : []),
        ])
        : "weight" in t
        ? state.get(t.weight)!.data
        : undefined;
    }
    const twin = TWINS[call.spec.name];
    if (!twin) throw new Error(`No CPU twin for kernel "${call.spec.name}"`);
    const overrides: Record<string, number> = { ...call.spec.overrides, ...call.overrides };
    // A view in y's buffer is read through y (its own binding then holds a dummy).
    if (overrides.R_IN_Y) buf.r = buf.y;
    if (overrides.X_IN_Y) buf.x = buf.y;
    twin(buf, call.params, overrides);
  }
  const out: Record<string, Float32Array> = {};
  for (const [name, v] of Object.entries(plan.outputs)) {
    const s = plan.shapes[v];
    const len = name === "output0" ? n * s.c * plan.anchors : s.n * s.c * s.h * s.w;
    out[name] = bufferOf(plan.locs[v].region).slice(0, len);
  }
  return out;
}
