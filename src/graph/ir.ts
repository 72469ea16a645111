/**
 * The op graph the executor runs: a flat, topologically ordered list of ops over values.
 * A value is an activation tensor [n, c, H/stride, W/stride] for an input of size H x W; its spatial
 * size follows from `stride`, so one graph serves every input shape that is a multiple of 32.
 */

/** An activation produced by one op. */
export interface Value {
  id: number;
  /** Channels. */
  c: number;
  /** Downsampling factor relative to the network input (1, 2, 4, ... 32). */
  stride: number;
}

/** Activation fused into a producer's epilogue. */
export type Act = "silu" | "none";

/** 2-D convolution (BatchNorm folded in at load), bias and activation in the epilogue. */
export interface ConvOp {
  op: "conv";
  /** Ultralytics module path, e.g. `model.2.cv1`. */
  name: string;
  x: number;
  y: number;
  cin: number;
  cout: number;
  k: number;
  s: number;
  p: number;
  g: number;
  act: Act;
  /** State-dict key of the weight [cout, cin/g, k, k]. */
  weight: string;
  /** State-dict key of the bias [cout] (for a Conv module it exists only after BatchNorm folding). */
  bias: string;
  /** State-dict prefix of the BatchNorm2d to fold (`model.0.bn`), when the module has one. */
  bn?: string;
  /** Residual added after the activation (set by the fusion pass). */
  r?: number;
  /**
   * A depthwise conv (stride 1, padding k / 2) applied to `x` before this 1x1 conv, computed as the conv reads
   * its input (set by `fuseDepthwisePreConvs`): its weight and bias keys, window and activation.
   */
  pre?: { weight: string; bias: string; k: number; act: Act };
  /**
   * A 1x1 conv applied to this conv's output (set by `fusePostConvs`): its weight and bias keys, output
   * channels and activation. `y` (and `r`, the residual added after it) are then that conv's; `cout` stays
   * this conv's own.
   */
  post?: { weight: string; bias: string; cout: number; act: Act };
  /**
   * With `post`: the post-conv's input is value `x` (`c` channels, read from memory) followed by this conv's
   * own output, or with `tileFirst` preceded by it (set by `fuseConcatPostConvs`: a C2f/C3k2 block's cv2 over
   * the concat of its cv1 output and its last Bottleneck's; a head's downsampling conv with the next block's
   * cv1). `r` is then added to this conv's own output, before the post-conv; it is a slice of `x` when set.
   */
  cat?: { x: number; c: number; tileFirst?: boolean };
  /**
   * A nearest upsample of this conv's output (set by `fuseUpsamples`): the conv also writes each output value
   * to the `scale` x `scale` block of value `y` it is copied to (no residual then: `r` is unset).
   */
  up?: { y: number; scale: number };
}

/** Transposed 2-D convolution with kernel == stride and no padding (Proto's 2x upsample). */
export interface ConvTransposeOp {
  op: "conv_transpose";
  name: string;
  x: number;
  y: number;
  cin: number;
  cout: number;
  k: number;
  s: number;
  weight: string;
  bias: string;
}

/** Elementwise sum of two values of equal shape. */
export interface AddOp {
  op: "add";
  a: number;
  b: number;
  y: number;
}

/** Channel concatenation (`torch.cat(xs, 1)`). */
export interface ConcatOp {
  op: "concat";
  xs: number[];
  y: number;
}

/** Channel split (`chunk` / `split` along dim 1). */
export interface SplitOp {
  op: "split";
  x: number;
  ys: number[];
  sizes: number[];
}

/** Max pooling (SPPF). */
export interface MaxPoolOp {
  op: "maxpool";
  x: number;
  y: number;
  k: number;
  s: number;
  p: number;
}

/** Nearest-neighbour upsampling by an integer factor. */
export interface UpsampleOp {
  op: "upsample";
  x: number;
  y: number;
  scale: number;
}

/**
 * The attention core of Ultralytics' `Attention` (C2PSA): from the `qkv` conv output, per head
 * `o = v @ softmax(q^T k * scale)^T`, written to `o`; `v` (heads concatenated) is also written out for
 * the positional depthwise conv, or with `pe` (set by `fuseAttentionPe`) that conv of v is added to `o`
 * instead and `v` is not written (unset).
 */
export interface AttentionOp {
  op: "attention";
  name: string;
  qkv: number;
  o: number;
  v?: number;
  /** The positional depthwise conv (`Attention.pe`: k x k, stride 1, bias, no activation): weight and bias keys. */
  pe?: { weight: string; bias: string; k: number };
  numHeads: number;
  keyDim: number;
  headDim: number;
  scale: number;
}

/**
 * Ultralytics `Segment` inference head output `output0` [n, 4 + nc + nm, anchors]: DFL over the box
 * distributions, dist2bbox with anchors and strides (xywh in input pixels), class sigmoid, mask coefficients.
 */
export interface DetectOp {
  op: "detect";
  name: string;
  /** Per level: box distribution values [4 * regMax channels]. */
  boxes: number[];
  /** Per level: class logits [nc channels]. */
  scores: number[];
  /** Per level: mask coefficients [nm channels] (empty for a detection-only head). */
  coeffs: number[];
  strides: number[];
  nc: number;
  nm: number;
  regMax: number;
  /** DFL projection weights key (`model.23.dfl.conv.weight`). */
  dfl: string;
  y: number;
}

/** Any op of the graph. */
export type Op =
  | ConvOp
  | ConvTransposeOp
  | AddOp
  | ConcatOp
  | SplitOp
  | MaxPoolOp
  | UpsampleOp
  | AttentionOp
  | DetectOp;

/** A whole network as ops over values, with its input and named outputs. */
export interface Graph {
  values: Value[];
  ops: Op[];
  input: number;
  /** `output0` (detections) and, for segmentation, `output1` (mask prototypes). */
  outputs: Record<string, number>;
}
