// attention_rows: the same attention as attention.wgsl (Ultralytics' Attention core of YOLO11's C2PSA, same
// bindings and Params), laid out for small maps: a workgroup of WG invocations owns QB queries of one
// (image, head) and keeps their whole score rows (N <= MAX_N keys) in workgroup memory, so every phase
// spreads over all its invocations instead of streaming key blocks through a few:
//   1. stage Q^T for the QB queries, pre-scaled;
//   2. scores: invocation t computes the QB scores of keys t, t + WG, ... (QB dot products of KEY_DIM,
//      the key's channels loaded four at a time);
//   3. softmax: WG / QB invocations per query take its row's max, then exp(s - max) in place and the sum;
//   4. output: invocation (slice, dg) accumulates p * v for head dims 4dg..4dg+3 over keys slice,
//      slice + WG / (HEAD_DIM / 4), ..., for all QB queries in registers;
//   5. the slices' sums meet in workgroup memory, one query at a time, divided by the row sum and stored.
// v itself is copied out (heads concatenated) for the positional depthwise conv, or with PE_K > 0 that conv
// is added to o here instead, as attention.wgsl does.
// Head h's channels in x: h * (2 * KEY_DIM + HEAD_DIM) + [q (KEY_DIM) | k (KEY_DIM) | v (HEAD_DIM)].
//
// Views: element (b, n, c) (pixel n = y * W + x) lives at base + (b * N + n) * stride + off + c.

// Element type of activations in memory: f32 here, f16 in its f16 variant (f16Variant), which differs from
// this file only in that line and its leading `enable f16;`. Arithmetic stays f32.
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

// Query/key channels and value channels per head (YOLO11: 32 and 64; HEAD_DIM a multiple of 4).
override KEY_DIM: u32 = 32u;
override HEAD_DIM: u32 = 64u;
// The positional depthwise conv's window, added to o (0: none, v is copied out instead).
override PE_K: u32 = 0u;
// Queries per workgroup: 4 or 8.
override QB: u32 = 8u;
// Longest score row the workgroup holds (a map of more pixels stores nothing: the plan never asks).
override MAX_N: u32 = 400u;
// Invocations per workgroup: a multiple of QB, at least HEAD_DIM / 4.
override WG: u32 = 256u;

const NO_MAX = -1.0e30;

// Q^T, [KEY_DIM][QB / 4] vec4s of 4 consecutive queries, pre-multiplied by scale.
var<workgroup> qTile: array<vec4<f32>, KEY_DIM * QB / 4u>;
// Scores, then exp(score - row max): [MAX_N][QB / 4] vec4s of 4 consecutive queries.
var<workgroup> sTile: array<vec4<f32>, MAX_N * QB / 4u>;
// Per-invocation partial results: (max, sum) in phase 3, output sums in phase 5.
var<workgroup> red: array<vec4<f32>, WG>;
var<workgroup> rowSum: array<f32, QB>;

@compute @workgroup_size(WG)
fn main(
  @builtin(local_invocation_index) lid: u32,
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(num_workgroups) nwg: vec3<u32>,
) {
  let n = params.pixels;
  let q0 = (wid.x + wid.z * nwg.x) * QB;
  let head = wid.y % params.numHeads;
  let img = wid.y / params.numHeads;
  // Uniform over the workgroup (folded dispatches overshoot).
  if (q0 >= n || img >= params.batch || n > MAX_N) {
    return;
  }
  let hq = QB / 4u;
  let xImg = params.xBase + img * n * params.xStride;
  let qc = params.xOff + head * (2u * KEY_DIM + HEAD_DIM);
  let kc = qc + KEY_DIM;
  let vc = kc + KEY_DIM;

  // 1. Q^T.
  for (var e = lid; e < KEY_DIM * QB; e += WG) {
    let q = e / KEY_DIM;
    let d = e % KEY_DIM;
    var val = 0.0;
    if (q0 + q < n) {
      val = f32(x[xImg + (q0 + q) * params.xStride + qc + d]) * params.scale;
    }
    qTile[d * hq + q / 4u][q % 4u] = val;
  }
  workgroupBarrier();

  // 2. Scores of keys lid, lid + WG, ...: lo holds queries 0..3, hi 4..7.
  for (var j = lid; j < n; j += WG) {
    let kAt = xImg + j * params.xStride + kc;
    var lo = vec4<f32>(0.0);
    var hi = vec4<f32>(0.0);
    var d = 0u;
    for (; d + 4u <= KEY_DIM; d += 4u) {
      let k0 = f32(x[kAt + d]);
      let k1 = f32(x[kAt + d + 1u]);
      let k2 = f32(x[kAt + d + 2u]);
      let k3 = f32(x[kAt + d + 3u]);
      lo = fma(qTile[d * hq], vec4<f32>(k0), lo);
      lo = fma(qTile[(d + 1u) * hq], vec4<f32>(k1), lo);
      lo = fma(qTile[(d + 2u) * hq], vec4<f32>(k2), lo);
      lo = fma(qTile[(d + 3u) * hq], vec4<f32>(k3), lo);
      if (QB == 8u) {
        hi = fma(qTile[d * hq + 1u], vec4<f32>(k0), hi);
        hi = fma(qTile[(d + 1u) * hq + 1u], vec4<f32>(k1), hi);
        hi = fma(qTile[(d + 2u) * hq + 1u], vec4<f32>(k2), hi);
        hi = fma(qTile[(d + 3u) * hq + 1u], vec4<f32>(k3), hi);
      }
    }
    for (; d < KEY_DIM; d++) {
      let k = vec4<f32>(f32(x[kAt + d]));
      lo = fma(qTile[d * hq], k, lo);
      if (QB == 8u) {
        hi = fma(qTile[d * hq + 1u], k, hi);
      }
    }
    sTile[j * hq] = lo;
    if (QB == 8u) {
      sTile[j * hq + 1u] = hi;
    }
  }
  workgroupBarrier();

  // 3. Softmax rows: invocation lid takes query lid % QB, keys lid / QB + k * WG / QB.
  let sq = lid % QB;
  let part = lid / QB;
  let parts = WG / QB;
  var m = NO_MAX;
  for (var j = part; j < n; j += parts) {
    m = max(m, sTile[j * hq + sq / 4u][sq % 4u]);
  }
  red[lid].x = m;
  workgroupBarrier();
  var rowMax = NO_MAX;
  for (var k = 0u; k < parts; k++) {
    rowMax = max(rowMax, red[k * QB + sq].x);
  }
  var sum = 0.0;
  for (var j = part; j < n; j += parts) {
    let p = exp(sTile[j * hq + sq / 4u][sq % 4u] - rowMax);
    sTile[j * hq + sq / 4u][sq % 4u] = p;
    sum += p;
  }
  red[lid].y = sum;
  workgroupBarrier();
  if (lid < QB) {
    var l = 0.0;
    for (var k = 0u; k < parts; k++) {
      l += red[k * QB + lid].y;
    }
    rowSum[lid] = l;
  }

  // 4. p * v: invocation (slice, dg) over keys slice, slice + slices, ...; a<q> holds query q's dims 4dg..4dg+3.
  let dgs = HEAD_DIM / 4u;
  let slices = WG / dgs;
  let dg = lid % dgs;
  let slice = lid / dgs;
  var a0 = vec4<f32>(0.0);
  var a1 = vec4<f32>(0.0);
  var a2 = vec4<f32>(0.0);
  var a3 = vec4<f32>(0.0);
  var a4 = vec4<f32>(0.0);
  var a5 = vec4<f32>(0.0);
  var a6 = vec4<f32>(0.0);
  var a7 = vec4<f32>(0.0);
  if (slice < slices) {
    for (var j = slice; j < n; j += slices) {
      let at = xImg + j * params.xStride + vc + 4u * dg;
      let vv = vec4<f32>(f32(x[at]), f32(x[at + 1u]), f32(x[at + 2u]), f32(x[at + 3u]));
      let p0 = sTile[j * hq];
      a0 = fma(vec4<f32>(p0.x), vv, a0);
      a1 = fma(vec4<f32>(p0.y), vv, a1);
      a2 = fma(vec4<f32>(p0.z), vv, a2);
      a3 = fma(vec4<f32>(p0.w), vv, a3);
      if (QB == 8u) {
        let p1 = sTile[j * hq + 1u];
        a4 = fma(vec4<f32>(p1.x), vv, a4);
        a5 = fma(vec4<f32>(p1.y), vv, a5);
        a6 = fma(vec4<f32>(p1.z), vv, a6);
        a7 = fma(vec4<f32>(p1.w), vv, a7);
      }
    }
  }

  // v out: this query block's value channels, copied (coalesced along channels); not with PE_K.
  for (var e = lid; PE_K == 0u && e < QB * HEAD_DIM; e += WG) {
    let d = e % HEAD_DIM;
    let q = q0 + e / HEAD_DIM;
    if (q < n) {
      v[params.vBase + (img * n + q) * params.vStride + params.vOff + head * HEAD_DIM + d] =
        x[xImg + q * params.xStride + vc + d];
    }
  }
  workgroupBarrier();

  // 5. One query at a time: the slices' sums, normalised and stored.
  let col = params.oOff + head * HEAD_DIM;
  finish(lid, q0, n, img, col, 0u, a0);
  finish(lid, q0, n, img, col, 1u, a1);
  finish(lid, q0, n, img, col, 2u, a2);
  finish(lid, q0, n, img, col, 3u, a3);
  if (QB == 8u) {
    finish(lid, q0, n, img, col, 4u, a4);
    finish(lid, q0, n, img, col, 5u, a5);
    finish(lid, q0, n, img, col, 6u, a6);
    finish(lid, q0, n, img, col, 7u, a7);
  }
}

// Adds up query q's partial output sums (acc: this invocation's, dims 4 * (lid % dgs) + 0..3 of its slice)
// across the slices and stores them divided by the row sum. Called by the whole workgroup.
fn finish(lid: u32, q0: u32, n: u32, img: u32, col: u32, q: u32, acc: vec4<f32>) {
  let dgs = HEAD_DIM / 4u;
  red[lid] = acc;
  workgroupBarrier();
  if (lid < dgs && q0 + q < n) {
    var s = vec4<f32>(0.0);
    for (var k = 0u; k < WG / dgs; k++) {
      s += red[k * dgs + lid];
    }
    s /= rowSum[q];
    let i = params.oBase + (img * n + q0 + q) * params.oStride + col + 4u * lid;
    let c = col - params.oOff + 4u * lid; // channel of o's, for the positional conv
    o[i] = S(s.x + peAt(img, q0 + q, c));
    o[i + 1u] = S(s.y + peAt(img, q0 + q, c + 1u));
    o[i + 2u] = S(s.z + peAt(img, q0 + q, c + 2u));
    o[i + 3u] = S(s.w + peAt(img, q0 + q, c + 3u));
  }
  workgroupBarrier();
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
