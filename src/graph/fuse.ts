/**
 * Load-time graph rewrites: BatchNorm folded into the preceding conv (Ultralytics' `fuse_conv_and_bn`), and
 * residual adds folded into the epilogue of the conv that produces one of their operands.
 */
import { CheckpointError } from "../errors.ts";
import { concatFloats, type StateDict, type Tensor } from "../tensor.ts";
import type { ConvOp, Graph, Op } from "./ir.ts";
import { opOutputs } from "./plan.ts";

/** BatchNorm2d epsilon of Ultralytics models (`initialize_weights` sets 1e-3). */
export const BN_EPS = 1e-3;

/**
 * Fold every conv's BatchNorm into its weight and a new bias, in float64 then rounded to f32:
 * `w' = w * g / sqrt(var + eps)`, `b' = beta - mean * g / sqrt(var + eps)`.
 * Returns a new state dict without BatchNorm entries; convs already folded (bias present, no BN) pass through.
 * @throws {CheckpointError} when a BatchNorm tensor is missing.
 */
export function foldBatchNorm(graph: Graph, state: StateDict, file = "<weights>", eps = BN_EPS): StateDict {
  const out: StateDict = new Map(state);
  for (const op of graph.ops) {
    if (op.op !== "conv" || !op.bn) continue;
    const gamma = state.get(`${op.bn}.weight`);
    if (!gamma && state.has(op.bias)) continue; // already folded (e.g. loaded from our safetensors export)
    const get = (k: string): Tensor =>
      state.get(k) ?? (() => {
        throw new CheckpointError(file, `Cannot fold BatchNorm in "${file}": tensor "${k}" is missing`);
      })();
    const w = get(op.weight);
    const g = get(`${op.bn}.weight`).data;
    const beta = get(`${op.bn}.bias`).data;
    const mean = get(`${op.bn}.running_mean`).data;
    const variance = get(`${op.bn}.running_var`).data;
    const per = w.data.length / op.cout;
    const wf = new Float32Array(w.data.length);
    const bf = new Float32Array(op.cout);
    for (let o = 0; o < op.cout; o++) {
      const s = g[o] / Math.sqrt(variance[o] + eps);
      for (let i = 0; i < per; i++) wf[o * per + i] = w.data[o * per + i] * s;
      bf[o] = beta[o] - mean[o] * s;
    }
    out.set(op.weight, { dtype: "f32", shape: w.shape, data: wf });
    out.set(op.bias, { dtype: "f32", shape: [op.cout], data: bf });
    for (const k of ["weight", "bias", "running_mean", "running_var", "num_batches_tracked"]) {
      out.delete(`${op.bn}.${k}`);
    }
  }
  return out;
}

/**
 * Rewrite `add(conv(x), r)` as one conv whose epilogue adds `r` (after the activation), when the conv's
 * output feeds nothing but that add and the graph output is not that conv. Returns a new graph.
 */
export function fuseResidualAdds(graph: Graph): Graph {
  const uses = valueUses(graph);
  const producer = new Map<number, ConvOp>();
  const ops = graph.ops.map((op) => (op.op === "conv" ? { ...op } : op));
  for (const op of ops) if (op.op === "conv") producer.set(op.y, op);
  const kept = ops.filter((op) => {
    if (op.op !== "add") return true;
    for (const [main, other] of [[op.a, op.b], [op.b, op.a]]) {
      const p = producer.get(main);
      if (p && p.r === undefined && uses.get(main) === 1) {
        p.r = other;
        p.y = op.y;
        return false;
      }
    }
    return true;
  });
  return { ...graph, ops: kept };
}

/** How many times each value is read (by ops, and as a graph output). */
function valueUses(graph: Graph): Map<number, number> {
  const uses = new Map<number, number>();
  const use = (id: number) => uses.set(id, (uses.get(id) ?? 0) + 1);
  for (const op of graph.ops) {
    switch (op.op) {
      case "conv":
        use(op.x);
        if (op.r !== undefined) use(op.r);
        if (op.cat) use(op.cat.x);
        break;
      case "conv_transpose":
      case "maxpool":
      case "upsample":
      case "split":
        use(op.x);
        break;
      case "add":
        use(op.a);
        use(op.b);
        break;
      case "concat":
        op.xs.forEach(use);
        break;
      case "attention":
        use(op.qkv);
        break;
      case "detect":
        [...op.boxes, ...op.scores, ...op.coeffs].forEach(use);
        break;
    }
  }
  for (const id of Object.values(graph.outputs)) use(id);
  return uses;
}

/**
 * Fold a depthwise conv (`DWConv`: stride 1, padding k / 2, no residual) into the 1x1 conv that is its only
 * reader (dense, stride 1): the 1x1 conv computes the depthwise output as it reads its input (conv2d's
 * `PRE_K`), one dispatch instead of two. In a Segment head these are the two DWConv -> Conv pairs of each
 * level's class branch (`cv3.i.0`, `cv3.i.1`). The fused conv reads the depthwise conv's input, keeps the
 * 1x1 conv's place and output, and is named by both names joined with `+`. For kernels with a pre-conv only
 * (`conv2d`; software adapters' `conv2d_uniform` has none).
 *
 * @param graph The graph (residual adds already fused).
 * @returns The new graph.
 */
export function fuseDepthwisePreConvs(graph: Graph): Graph {
  const uses = valueUses(graph);
  const readers = new Map<number, ConvOp>();
  for (const op of graph.ops) if (op.op === "conv") readers.set(op.x, op);
  const folded = new Set<ConvOp>();
  const into = new Map<ConvOp, ConvOp>();
  for (const op of graph.ops) {
    if (op.op !== "conv") continue;
    const depthwise = op.g > 1 && op.g === op.cin && op.g === op.cout && op.k % 2 === 1 && op.s === 1 &&
      op.p === (op.k - 1) / 2 && op.r === undefined;
    const next = readers.get(op.y);
    if (!depthwise || uses.get(op.y) !== 1 || !next || folded.has(next)) continue;
    if (next.k !== 1 || next.s !== 1 || next.p !== 0 || next.g !== 1 || next.pre || next.cin !== op.cout) {
      continue;
    }
    folded.add(op);
    into.set(next, {
      ...next,
      name: `${op.name}+${next.name}`,
      x: op.x,
      pre: { weight: op.weight, bias: op.bias, k: op.k, act: op.act },
    });
  }
  const ops = graph.ops.flatMap((op) =>
    op.op === "conv" && folded.has(op) ? [] : op.op === "conv" && into.has(op) ? [into.get(op)!] : [op]
  );
  return { ...graph, ops };
}

/**
 * Fold a 1x1 conv (dense, stride 1, no pre-conv) into the conv that is its input's only producer and whose
 * output nothing else reads (dense, no residual; a pre-conv of its own is fine): that conv's workgroups keep
 * their output tile in workgroup memory and apply the 1x1 conv to it (conv2d's `POST_N`), one dispatch instead
 * of two and no round trip of the intermediate through memory. In YOLO11-seg: each level's box and mask-coefficient
 * branches (`cv2.i.1` -> `cv2.i.2`, `cv4.i.1` -> `cv4.i.2`), the class branches' last pointwise conv with its
 * folded depthwise conv (`cv3.i.1.0+cv3.i.1.1` -> `cv3.i.2`), Proto's `cv2` -> `cv3` and PSA's feed-forward
 * (`ffn.0` -> `ffn.1`, whose residual the fused conv adds). The fused conv takes the 1x1 conv's place (its
 * residual is ready there), output and residual, and is named by both names joined with `+`. `fits(conv)` says
 * whether the first conv may carry a post-conv: a device can hold a tile of all its `cout` channels (the conv2d
 * tile spans them), and folding pays (the executor folds only small layers, see `POST_FOLD_MAX_PIXELS`).
 *
 * @param graph The graph (residual adds fused; depthwise pre-convs folded or not).
 * @param fits Whether this conv may carry a post-conv.
 * @returns The new graph.
 */
export function fusePostConvs(graph: Graph, fits: (conv: ConvOp) => boolean = () => true): Graph {
  const uses = valueUses(graph);
  const producer = new Map<number, ConvOp>();
  for (const op of graph.ops) if (op.op === "conv") producer.set(op.y, op);
  const folded = new Set<ConvOp>();
  const into = new Map<ConvOp, ConvOp>();
  for (const op of graph.ops) {
    if (op.op !== "conv" || op.k !== 1 || op.s !== 1 || op.p !== 0 || op.g !== 1 || op.pre || op.post) {
      continue;
    }
    const first = producer.get(op.x);
    if (
      !first || first.g !== 1 || first.r !== undefined || first.post || folded.has(first) ||
      into.has(first) || uses.get(first.y) !== 1 || first.cout !== op.cin || !fits(first)
    ) {
      continue;
    }
    folded.add(first);
    into.set(op, {
      ...first,
      name: `${first.name}+${op.name}`,
      y: op.y,
      r: op.r,
      post: { weight: op.weight, bias: op.bias, cout: op.cout, act: op.act },
    });
  }
  const ops = graph.ops.flatMap((op) =>
    op.op === "conv" && folded.has(op) ? [] : op.op === "conv" && into.has(op) ? [into.get(op)!] : [op]
  );
  return { ...graph, ops };
}

/**
 * Fold a 1x1 conv (no residual, the only reader of a concat) into the conv that produces the concat's last
 * part, when the other parts are, in order, the whole split of one value (a C2f/C3k2 block's `cv2` over
 * `[a, b, m.0]`, `[a | b]` its `cv1` output, one Bottleneck), or into the conv that produces its first part
 * when the other part is one value (a head's downsampling conv and the next block's `cv1` over `[its output,
 * an earlier level]`). That conv (dense, its output read by the concat alone, its residual if any a slice of
 * the split value, the other value ready where it runs) keeps its output tile in workgroup memory, adds its
 * residual there, and applies the 1x1 conv to the tile's channels and the other value's read from memory, in
 * the concat's order (conv2d's `POST_N` with `POST_CAT` 1 or 2). One dispatch instead of two, and neither the
 * tile nor the concat goes to memory. In YOLO11n: the C3k2 blocks' (model.2, 4, 6, 8, 13, 16, 19, 22; in the
 * C3k ones, model.6/8/22, the C3k's `cv3` is the last conv) and model.17/20 with model.19/22's `cv1`; in
 * YOLOv8: the C2f blocks of one Bottleneck and the two head downsamplings. The fused conv takes the first
 * conv's place and the 1x1 conv's output, and is named by both names joined with `+`. `fits(conv)` as in
 * {@linkcode fusePostConvs}.
 *
 * @param graph The graph (residual adds and sibling convs fused).
 * @param fits Whether this conv may carry a post-conv.
 * @returns The new graph.
 */
export function fuseConcatPostConvs(graph: Graph, fits: (conv: ConvOp) => boolean = () => true): Graph {
  const uses = valueUses(graph);
  const outputs = new Set(Object.values(graph.outputs));
  const producer = new Map<number, Op>();
  for (const op of graph.ops) for (const y of opOutputs(op)) producer.set(y, op);
  const index = new Map<Op, number>(graph.ops.map((op, i) => [op, i]));
  const into = new Map<Op, ConvOp>();
  const dropped = new Set<Op>();
  for (const op of graph.ops) {
    if (op.op !== "conv" || op.k !== 1 || op.s !== 1 || op.p !== 0 || op.g !== 1) continue;
    if (op.pre || op.post || op.up || op.cat || op.r !== undefined) continue;
    const concat = producer.get(op.x);
    if (concat?.op !== "concat" || uses.get(op.x) !== 1 || outputs.has(op.x) || concat.xs.length < 2) {
      continue;
    }
    // The tile: the concat's last part, else its first; the other parts one value's channels in order.
    for (const tileFirst of [false, true]) {
      const tile = tileFirst ? concat.xs[0] : concat.xs[concat.xs.length - 1];
      const parts = tileFirst ? concat.xs.slice(1) : concat.xs.slice(0, -1);
      const split = producer.get(parts[0]);
      const whole = split?.op === "split" && split.ys.length === parts.length &&
        split.ys.every((y, i) => y === parts[i]);
      if (!whole && parts.length !== 1) continue;
      const memory = whole ? split.x : parts[0];
      const first = producer.get(tile);
      const made = producer.get(memory);
      if (
        first?.op !== "conv" || first.g !== 1 || first.pre || first.post || first.up || into.has(first) ||
        uses.get(tile) !== 1 || outputs.has(tile) || !fits(first) ||
        (first.r !== undefined && !(whole && split.ys.includes(first.r))) ||
        (made !== undefined && index.get(made)! > index.get(first)!) // the memory value is ready at the conv
      ) {
        continue;
      }
      const c = graph.values[memory].c;
      if (op.cin !== c + first.cout) continue;
      into.set(first, {
        ...first,
        name: `${first.name}+${op.name}`,
        y: op.y,
        post: { weight: op.weight, bias: op.bias, cout: op.cout, act: op.act },
        cat: { x: memory, c, ...(tileFirst ? { tileFirst } : {}) },
      });
      dropped.add(op).add(concat);
      break;
    }
  }
  const ops = graph.ops.flatMap((op) => dropped.has(op) ? [] : into.has(op) ? [into.get(op)!] : [op]);
  return { ...graph, ops };
}

/**
 * Fold C2PSA's positional depthwise conv (`Attention.pe`: odd k x k, stride 1, padding k / 2, no activation,
 * the attention's `v` its only input and the attention's `o` its residual, each read by nothing else) into
 * the attention op: the attention kernel adds that conv of v to o itself and writes the sum to the conv's
 * output, instead of copying v out for a dwconv dispatch. The attention keeps its place and name.
 *
 * @param graph The graph (residual adds fused: `pe + o` is the conv's residual).
 * @returns The new graph.
 */
export function fuseAttentionPe(graph: Graph): Graph {
  const uses = valueUses(graph);
  const outputs = new Set(Object.values(graph.outputs));
  const reader = new Map<number, ConvOp>();
  for (const op of graph.ops) if (op.op === "conv") reader.set(op.x, op);
  const into = new Map<Op, Op>();
  const dropped = new Set<Op>();
  for (const op of graph.ops) {
    if (op.op !== "attention" || op.pe || op.v === undefined) continue;
    const pe = reader.get(op.v);
    const dim = graph.values[op.v].c;
    if (
      !pe || pe.g !== dim || pe.cin !== dim || pe.cout !== dim || pe.k % 2 !== 1 || pe.s !== 1 ||
      pe.p !== (pe.k - 1) / 2 || pe.act !== "none" || pe.r !== op.o || pe.pre || pe.post || pe.up ||
      uses.get(op.v) !== 1 || uses.get(op.o) !== 1 || outputs.has(op.v) || outputs.has(op.o)
    ) {
      continue;
    }
    into.set(op, { ...op, o: pe.y, v: undefined, pe: { weight: pe.weight, bias: pe.bias, k: pe.k } });
    dropped.add(pe);
  }
  const ops = graph.ops.flatMap((op) => dropped.has(op) ? [] : [into.get(op) ?? op]);
  return { ...graph, ops };
}

/**
 * Fold a nearest upsample (integer scale) into the conv that produces its input (one that `conv2d` runs: not
 * depthwise; no residual, whose binding the upsampled copy takes, nor a post-conv over a concat, which reads
 * that binding; not upsampled already): the conv writes its output as before and also each value to its
 * `scale` x `scale` block of the upsample's output, one dispatch instead of two. In YOLO11/YOLOv8 heads: the
 * two `nn.Upsample` layers after `model.10`/`model.13` (YOLO11) and `model.9`/`model.12` (YOLOv8), whose
 * copies go straight into the next concat's buffer (after {@linkcode fuseConcatPostConvs} only the first:
 * the second's conv then carries its block's `cv2` over a concat). The conv keeps its place (the upsample
 * needs nothing else) and its name gains `+upsample`. An upsample that is a graph output is left alone.
 *
 * @param graph The graph (residual adds fused).
 * @returns The new graph.
 */
export function fuseUpsamples(graph: Graph): Graph {
  const outputs = new Set(Object.values(graph.outputs));
  const producer = new Map<number, ConvOp>();
  for (const op of graph.ops) if (op.op === "conv") producer.set(op.y, op);
  const into = new Map<ConvOp, ConvOp>();
  const folded = new Set<Op>();
  for (const op of graph.ops) {
    if (op.op !== "upsample" || !Number.isInteger(op.scale) || op.scale < 1 || outputs.has(op.y)) continue;
    const conv = producer.get(op.x);
    const depthwise = conv && conv.g > 1 && conv.g === conv.cin && conv.g === conv.cout;
    if (!conv || depthwise || conv.r !== undefined || conv.cat || into.has(conv)) continue;
    into.set(conv, { ...conv, name: `${conv.name}+upsample`, up: { y: op.y, scale: op.scale } });
    folded.add(op);
  }
  const ops = graph.ops.flatMap((op) =>
    folded.has(op) ? [] : op.op === "conv" && into.has(op) ? [into.get(op)!] : [op]
  );
  return { ...graph, ops };
}

/**
 * Merge convs that read the same value with the same kernel, stride, padding and activation (dense, no
 * residual, no graph output) into one conv with their output channels stacked, followed by a split (views,
 * no copy): one dispatch with more parallelism instead of several small ones. In a Segment head these are
 * each level's first box conv and first mask-coefficient conv (`cv2.i.0`, `cv4.i.0`) and, on the first level,
 * the prototype branch's first conv (`proto.cv1`); in every C3k block its `cv1` and `cv2`. A member that feeds
 * a concat (C3k's `cv2`) stays in place there: the memory plan puts the merged output into the concat's
 * buffer, its other members' channels where the block's result is written after they were last read (no
 * copy for the YOLO11 and YOLOv8 models). The merged conv takes
 * the first one's place in the op order (the others only moved earlier, as they need nothing but the shared
 * input) and is named by the members' names joined with `+`, as are its stacked weight and bias.
 *
 * @param graph The graph (residual adds already fused: their convs carry `r` and are left alone).
 * @param state BN-folded weights and biases of every conv.
 * @returns The new graph, and `state` plus the stacked weights and biases.
 */
export function fuseSiblingConvs(graph: Graph, state: StateDict): { graph: Graph; state: StateDict } {
  const outputs = new Set(Object.values(graph.outputs));
  const groups = new Map<string, ConvOp[]>();
  for (const op of graph.ops) {
    if (op.op !== "conv" || op.g !== 1 || op.r !== undefined || outputs.has(op.y)) continue;
    const key = [op.x, op.k, op.s, op.p, op.act].join("|");
    groups.set(key, [...(groups.get(key) ?? []), op]);
  }
  const values = [...graph.values];
  const out: StateDict = new Map(state);
  const merged = new Map<ConvOp, Op[]>(); // first member -> its replacement ops
  const dropped = new Set<ConvOp>();
  for (const members of groups.values()) {
    if (members.length < 2) continue;
    const [first] = members;
    const cout = members.reduce((a, m) => a + m.cout, 0);
    const name = members.map((m) => m.name).join("+");
    const y = values.length;
    values.push({ id: y, c: cout, stride: values[first.y].stride });
    const weight = `${name}.weight`, bias = `${name}.bias`;
    const tensor = (key: string) =>
      state.get(key) ?? (() => {
        throw new CheckpointError("<weights>", `Cannot merge conv "${name}": tensor "${key}" is missing`);
      })();
    const ws = members.map((m) => tensor(m.weight)), bs = members.map((m) => tensor(m.bias));
    out.set(weight, {
      dtype: "f32",
      shape: [cout, ...ws[0].shape.slice(1)],
      data: concatFloats(ws.map((t) => t.data)),
    });
    out.set(bias, { dtype: "f32", shape: [cout], data: concatFloats(bs.map((t) => t.data)) });
    merged.set(first, [
      { ...first, name, y, cout, weight, bias, bn: undefined },
      { op: "split", x: y, ys: members.map((m) => m.y), sizes: members.map((m) => m.cout) },
    ]);
    for (const m of members.slice(1)) dropped.add(m);
  }
  const ops = graph.ops.flatMap((op) =>
    op.op === "conv" && merged.has(op) ? merged.get(op)! : op.op === "conv" && dropped.has(op) ? [] : [op]
  );
  return { graph: { ...graph, values, ops }, state: out };
}
