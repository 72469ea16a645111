// attention: the core of Ultralytics' Attention (YOLO11 C2PSA) over NHWC views. Per image and head h,
// with N = H * W pixels and the qkv conv output x holding, for head h, channels
// h * (2 * KEY_DIM + HEAD_DIM) + [q (KEY_DIM) | k (KEY_DIM) | v (HEAD_DIM)]:
//   attn[i, j] = softmax_j(scale * sum_d q[d, i] * k[d, j]),
//   o[h * HEAD_DIM + d, i] = sum_j v[d, j] * attn[i, j],
// and v itself is copied out (heads concatenated) for the positional depthwise conv; or with PE_K > 0 that
// conv of v (Ultralytics' pe) is added to o here instead (peAt), one dispatch fewer.
//
// Flash-attention style: a workgroup owns BQ = 4 * WG_Q queries of one (image, head) and streams the
// keys in blocks of BKV = HEAD_DIM / 2, keeping a running row max m, row sum l and unnormalised output
// per query (online softmax: on a new max, rescale l and the output by exp(m_old - m_new)), so any N
// works in fixed memory. Per key block:
//   1. stage K [KEY_DIM][BKV] and V [BKV][HEAD_DIM] in workgroup memory (Q^T, pre-scaled, was staged once);
//   2. invocation (tq, tn) computes scores for queries 4tq..4tq+3 x keys 4tn..4tn+3 (4 x 4 register
//      tile, one vec4 of Q and one of K per 16 FMAs) into a [BKV][BQ] score tile;
//   3. the same invocation updates its 4 queries' max and sum from the score tile (every invocation
//      of a row computes the same values) and accumulates output dims 8tn..8tn+7 (4 x 8 registers).
// A key stream is WG_Q x WG_D invocations, WG_D = HEAD_DIM / 8 (HEAD_DIM must be a multiple of 8). With
// KV_SPLIT > 1 the workgroup holds KV_SPLIT streams, each with its own K, V and score tiles, taking key blocks
// s, s + KV_SPLIT, ... (more parallel work for small maps, where few query blocks leave a big GPU idle); at
// the end the streams' (max, sum, output) states meet through workgroup memory and stream 0 merges them
// (the online-softmax rescale by exp(m_s - max)) and stores.
//
// Views: element (b, y, x, c) lives at base + ((b * H + y) * W + x) * stride + off + c, and pixel
// n = y * W + x, so (b, n) is at base + (b * N + n) * stride + off + c.

// Element type of activations (and of weights bound as storage) in memory: f32 here, f16 in its f16 variant (f16Variant),
// which differs from this file only in that line and its leading `enable f16;`. Arithmetic stays f32.
alias S = f32;

struct Params {
  batch: u32,
  pixels: u32,
  numHeads: u32,
  scale: f32,
  xBase: u32,
  xStride: u32,
  xOff: u32,
  oBase: u32,
  oStride: u32,
  oOff: u32,
  vBase: u32,
  vStride: u32,
  vOff: u32,
  // Map width (pixels = H * width): the positional conv's neighbours (PE_K > 0).
  width: u32,
}

@group(0) @binding(0) var<storage, read> x: array<S>;
@group(0) @binding(1) var<storage, read_write> o: array<S>;
@group(0) @binding(2) var<storage, read_write> v: array<S>;
// PE_K > 0: the positional depthwise conv's weights [channels][PE_K][PE_K] and bias (dummies otherwise).
@group(0) @binding(3) var<storage, read> pw: array<S>;
@group(0) @binding(4) var<storage, read> pb: array<S>;
@group(0) @binding(5) var<uniform> params: Params;

// Query/key channels and value channels per head (YOLO11: 32 and 64).
override KEY_DIM: u32 = 32u;
override HEAD_DIM: u32 = 64u;
// The positional depthwise conv's window, added to o (0: none, v is copied out instead).
override PE_K: u32 = 0u;
// Invocations along queries (4 queries each).
override WG_Q: u32 = 8u;
// Key streams per workgroup (see above); needs (KV_SPLIT - 1) * WG_Q * 10 <= KV_SPLIT * HEAD_DIM so the
// streams' states fit the V tiles.
override KV_SPLIT: u32 = 1u;

// Start of the running max: below any real score, and exp(NO_MAX - score) is a clean 0.
const NO_MAX = -1.0e30;

// Q^T block, [KEY_DIM][WG_Q] vec4s of 4 consecutive queries, pre-multiplied by scale.
var<workgroup> qTile: array<vec4<f32>, KEY_DIM * WG_Q>;
// Per stream: K block, [KEY_DIM][WG_D] vec4s of 4 consecutive keys.
var<workgroup> kTile: array<vec4<f32>, KV_SPLIT * KEY_DIM * (HEAD_DIM / 8u)>;
// Per stream: V block, [BKV][HEAD_DIM / 4] vec4s of 4 consecutive head dims (at the end: the states).
var<workgroup> vTile: array<vec4<f32>, KV_SPLIT * (HEAD_DIM / 2u) * (HEAD_DIM / 4u)>;
// Per stream: scores, [BKV][WG_Q] vec4s of 4 consecutive queries.
var<workgroup> sTile: array<vec4<f32>, KV_SPLIT * (HEAD_DIM / 2u) * WG_Q>;

@compute @workgroup_size(WG_Q * HEAD_DIM / 8u * KV_SPLIT)
fn main(
  @builtin(local_invocation_index) lid: u32,
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(num_workgroups) nwg: vec3<u32>,
) {
  let wgD = HEAD_DIM / 8u;
  let ns = WG_Q * wgD; // invocations per key stream
  let nt = ns * KV_SPLIT;
  let sub = lid / ns; // this invocation's stream
  let li = lid % ns;
  let bq = 4u * WG_Q;
  let bkv = 4u * wgD;
  let n = params.pixels;

  let q0 = (wid.x + wid.z * nwg.x) * bq;
  let head = wid.y % params.numHeads;
  let img = wid.y / params.numHeads;
  // Bounds guard (uniform over the workgroup: folded dispatches overshoot).
  if (q0 >= n || img >= params.batch) {
    return;
  }
  // Pixel 0 of this image, and this head's q, k and v channels.
  let xImg = params.xBase + img * n * params.xStride;
  let qc = params.xOff + head * (2u * KEY_DIM + HEAD_DIM);
  let kc = qc + KEY_DIM;
  let vc = kc + KEY_DIM;

  for (var e = lid; e < KEY_DIM * bq; e += nt) {
    let d = e % KEY_DIM;
    let q = e / KEY_DIM;
    var val = 0.0;
    if (q0 + q < n) {
      val = f32(x[xImg + (q0 + q) * params.xStride + qc + d]) * params.scale;
    }
    qTile[d * WG_Q + q / 4u][q % 4u] = val;
  }

  // This invocation: queries q0 + 4 * tq + (0..3); keys 4 * tn + (0..3) of each block for the
  // scores; head dims 8 * tn + (0..7) for the output.
  let tq = li % WG_Q;
  let tn = li / WG_Q;
  // This stream's K, V and score tiles.
  let kAt = sub * KEY_DIM * wgD;
  let vAt = sub * bkv * (HEAD_DIM / 4u);
  let sAt = sub * bkv * WG_Q;
  var m = vec4<f32>(NO_MAX);
  var l = vec4<f32>(0.0);
  // Output accumulators of queries 4tq + r (r = 0..3), head dims 8tn..8tn+3 (lo) and +4..+7 (hi),
  // as named variables: llvmpipe keeps a private array indexed by a loop counter in per-lane
  // scratch memory.
  var lo0 = vec4<f32>(0.0);
  var lo1 = vec4<f32>(0.0);
  var lo2 = vec4<f32>(0.0);
  var lo3 = vec4<f32>(0.0);
  var hi0 = vec4<f32>(0.0);
  var hi1 = vec4<f32>(0.0);
  var hi2 = vec4<f32>(0.0);
  var hi3 = vec4<f32>(0.0);

  // Every stream runs the same number of rounds (the barriers need uniform control flow); a stream whose
  // block is past the end sees no keys (kn = 0).
  let blocks = (n + bkv - 1u) / bkv;
  for (var round = 0u; round < blocks; round += KV_SPLIT) {
    let k0 = (round + sub) * bkv;
    let kn = select(0u, min(bkv, n - k0), k0 < n);
    for (var e = li; e < KEY_DIM * bkv; e += ns) {
      let d = e % KEY_DIM;
      let j = e / KEY_DIM;
      var val = 0.0;
      if (j < kn) {
        val = f32(x[xImg + (k0 + j) * params.xStride + kc + d]);
      }
      kTile[kAt + d * wgD + j / 4u][j % 4u] = val;
    }
    for (var e = li; e < bkv * HEAD_DIM; e += ns) {
      let d = e % HEAD_DIM;
      let j = e / HEAD_DIM;
      var val = 0.0;
      if (j < kn) {
        val = f32(x[xImg + (k0 + j) * params.xStride + vc + d]);
      }
      vTile[vAt + e / 4u][e % 4u] = val;
    }
    workgroupBarrier();

    // Scores: s_c holds queries 4tq..4tq+3 against key 4tn + c.
    var s0 = vec4<f32>(0.0);
    var s1 = vec4<f32>(0.0);
    var s2 = vec4<f32>(0.0);
    var s3 = vec4<f32>(0.0);
    for (var d = 0u; d < KEY_DIM; d++) {
      let a = qTile[d * WG_Q + tq];
      let kv = kTile[kAt + d * wgD + tn];
      s0 = fma(a, vec4<f32>(kv.x), s0);
      s1 = fma(a, vec4<f32>(kv.y), s1);
      s2 = fma(a, vec4<f32>(kv.z), s2);
      s3 = fma(a, vec4<f32>(kv.w), s3);
    }
    let j0 = 4u * tn;
    sTile[sAt + j0 * WG_Q + tq] = s0;
    sTile[sAt + (j0 + 1u) * WG_Q + tq] = s1;
    sTile[sAt + (j0 + 2u) * WG_Q + tq] = s2;
    sTile[sAt + (j0 + 3u) * WG_Q + tq] = s3;
    workgroupBarrier();

    // Online softmax over the block's kn real keys, then output += p * v.
    var mNew = m;
    for (var j = 0u; j < kn; j++) {
      mNew = max(mNew, sTile[sAt + j * WG_Q + tq]);
    }
    let alpha = exp(m - mNew);
    m = mNew;
    l *= alpha;
    lo0 *= alpha.x;
    lo1 *= alpha.y;
    lo2 *= alpha.z;
    lo3 *= alpha.w;
    hi0 *= alpha.x;
    hi1 *= alpha.y;
    hi2 *= alpha.z;
    hi3 *= alpha.w;
    for (var j = 0u; j < kn; j++) {
      let p = exp(sTile[sAt + j * WG_Q + tq] - m);
      l += p;
      let v0 = vTile[vAt + j * 2u * wgD + 2u * tn];
      let v1 = vTile[vAt + j * 2u * wgD + 2u * tn + 1u];
      lo0 = fma(vec4<f32>(p.x), v0, lo0);
      lo1 = fma(vec4<f32>(p.y), v0, lo1);
      lo2 = fma(vec4<f32>(p.z), v0, lo2);
      lo3 = fma(vec4<f32>(p.w), v0, lo3);
      hi0 = fma(vec4<f32>(p.x), v1, hi0);
      hi1 = fma(vec4<f32>(p.y), v1, hi1);
      hi2 = fma(vec4<f32>(p.z), v1, hi2);
      hi3 = fma(vec4<f32>(p.w), v1, hi3);
    }
    workgroupBarrier();
  }

  // v out: this query block's value channels, copied (coalesced along channels); not with PE_K.
  for (var e = lid; PE_K == 0u && e < bq * HEAD_DIM; e += nt) {
    let d = e % HEAD_DIM;
    let q = q0 + e / HEAD_DIM;
    if (q < n) {
      v[params.vBase + (img * n + q) * params.vStride + params.vOff + head * HEAD_DIM + d] =
        x[xImg + q * params.xStride + vc + d];
    }
  }

  // Merge the streams: streams 1.. leave (m, l, lo0..3, hi0..3) in the V tiles, stream 0 rescales all to the
  // common max and adds them up (the last round ended with a barrier, so the V tiles are free).
  if (KV_SPLIT > 1u) {
    if (sub > 0u) {
      let at = ((sub - 1u) * ns + li) * 10u;
      vTile[at] = m;
      vTile[at + 1u] = l;
      vTile[at + 2u] = lo0;
      vTile[at + 3u] = lo1;
      vTile[at + 4u] = lo2;
      vTile[at + 5u] = lo3;
      vTile[at + 6u] = hi0;
      vTile[at + 7u] = hi1;
      vTile[at + 8u] = hi2;
      vTile[at + 9u] = hi3;
    }
    workgroupBarrier();
    if (sub > 0u) {
      return;
    }
    var mAll = m;
    for (var s = 1u; s < KV_SPLIT; s++) {
      mAll = max(mAll, vTile[((s - 1u) * ns + li) * 10u]);
    }
    let own = exp(m - mAll);
    l *= own;
    lo0 *= own.x;
    lo1 *= own.y;
    lo2 *= own.z;
    lo3 *= own.w;
    hi0 *= own.x;
    hi1 *= own.y;
    hi2 *= own.z;
    hi3 *= own.w;
    for (var s = 1u; s < KV_SPLIT; s++) {
      let at = ((s - 1u) * ns + li) * 10u;
      let a = exp(vTile[at] - mAll);
      l += vTile[at + 1u] * a;
      lo0 += vTile[at + 2u] * a.x;
      lo1 += vTile[at + 3u] * a.y;
      lo2 += vTile[at + 4u] * a.z;
      lo3 += vTile[at + 5u] * a.w;
      hi0 += vTile[at + 6u] * a.x;
      hi1 += vTile[at + 7u] * a.y;
      hi2 += vTile[at + 8u] * a.z;
      hi3 += vTile[at + 9u] * a.w;
    }
  }

  // o out: normalise by the row sums.
  let col = params.oOff + head * HEAD_DIM + 8u * tn;
  storeRow(q0 + 4u * tq, n, img, col, lo0 / l.x, hi0 / l.x);
  storeRow(q0 + 4u * tq + 1u, n, img, col, lo1 / l.y, hi1 / l.y);
  storeRow(q0 + 4u * tq + 2u, n, img, col, lo2 / l.z, hi2 / l.z);
  storeRow(q0 + 4u * tq + 3u, n, img, col, lo3 / l.w, hi3 / l.w);
}

// Stores 8 output channels (from column `col`) of query q of image img, when q is a real query.
fn storeRow(q: u32, n: u32, img: u32, col: u32, lo: vec4<f32>, hi: vec4<f32>) {
  if (q >= n) {
    return;
  }
  let i = params.oBase + (img * n + q) * params.oStride + col;
  let c = col - params.oOff; // channel of o's, for the positional conv
  o[i] = S(lo.x + peAt(img, q, c));
  o[i + 1u] = S(lo.y + peAt(img, q, c + 1u));
  o[i + 2u] = S(lo.z + peAt(img, q, c + 2u));
  o[i + 3u] = S(lo.w + peAt(img, q, c + 3u));
  o[i + 4u] = S(hi.x + peAt(img, q, c + 4u));
  o[i + 5u] = S(hi.y + peAt(img, q, c + 5u));
  o[i + 6u] = S(hi.z + peAt(img, q, c + 6u));
  o[i + 7u] = S(hi.w + peAt(img, q, c + 7u));
}

// PE_K > 0: Ultralytics' positional depthwise conv of v (PE_K x PE_K, zero padding, bias, no activation) at
// query pixel q of image img, channel c of o's (heads concatenated): what this kernel adds to o instead of
// copying v out for a separate dwconv.
fn peAt(img: u32, q: u32, c: u32) -> f32 {
  if (PE_K == 0u) {
    return 0.0;
  }
  let w = params.width;
  let h = params.pixels / w;
  let qy = i32(q / w);
  let qx = i32(q % w);
  let head = c / HEAD_DIM;
  let vc = params.xOff + head * (2u * KEY_DIM + HEAD_DIM) + 2u * KEY_DIM + c % HEAD_DIM;
  let rad = i32(PE_K / 2u);
  var s = f32(pb[c]);
  for (var ty = 0u; ty < PE_K; ty++) {
    let iy = qy + i32(ty) - rad;
    if (iy < 0 || iy >= i32(h)) {
      continue;
    }
    for (var tx = 0u; tx < PE_K; tx++) {
      let ix = qx + i32(tx) - rad;
      if (ix < 0 || ix >= i32(w)) {
        continue;
      }
      let at = params.xBase + (img * params.pixels + u32(iy) * w + u32(ix)) * params.xStride + vc;
      s = fma(f32(pw[(c * PE_K + ty) * PE_K + tx]), f32(x[at]), s);
    }
  }
  return s;
}
