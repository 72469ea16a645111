// instance_masks: the binary masks of the detections nms kept, as Ultralytics' process_mask
// (retina_masks=False): logits = coefficients @ prototypes, zeroed outside the box's prototype crop,
// bilinear upsampling (align_corners=False, PyTorch's source positions in f32) to the input size, > 0.
// Each mask is written as bits (32 pixels per u32, the first in bit 0) over its window of the image's pool
// (nms's record: x0, y0, words per row, rows, offset), and its pixel count added to the record's area.
//
// Dispatch (indirect, from nms): x = workgroups sharing one mask (over its 32x32 tiles), y = detection,
// z = image. Per tile, the logits of the up-to-16x16 prototype pixels its taps read are computed once into
// workgroup memory (needs ih / mh = iw / mw >= 3: at most 32 / 3 + 2 rows and columns); each invocation
// then blends 4 consecutive pixels of one row, and the row's 8 nibbles are or-ed into its word.

struct Params {
  batch: u32,
  maxDet: u32,
  cap: u32,
  channels: u32,
  nc: u32,
  nm: u32,
  ih: u32,
  iw: u32,
  mh: u32,
  mw: u32,
  headerStride: u32,
  poolWords: u32,
  protoBase: u32,
}

@group(0) @binding(0) var<storage, read> rows: array<f32>;
@group(0) @binding(1) var<storage, read> protos: array<f32>;
@group(0) @binding(2) var<storage, read_write> header: array<atomic<u32>>;
@group(0) @binding(3) var<storage, read_write> pool: array<u32>;
@group(0) @binding(4) var<uniform> params: Params;

// Workgroups sharing one mask (the indirect dispatch's x, which nms writes from its `groups`).
override GROUPS: u32 = 8u;

const DET_WORDS = 20u;
const TILE = 32u;
const SIDE = 16u;

var<workgroup> logit: array<f32, 256>;
var<workgroup> hits: atomic<u32>;
var<workgroup> rowBits: array<atomic<u32>, TILE>;
var<workgroup> rec: array<u32, 21>;

// PyTorch's area_pixel_compute_source_index (align_corners=False) in f32, clamped at 0.
fn source(o: u32, scale: f32) -> f32 {
  return max(scale * (f32(o) + 0.5) - 0.5, 0.0);
}

@compute @workgroup_size(256)
fn main(
  @builtin(local_invocation_index) lid: u32,
  @builtin(workgroup_id) wid: vec3<u32>,
) {
  let b = wid.z;
  let d = wid.y;
  let hb = b * params.headerStride;
  let h = hb + 4u + d * DET_WORDS;
  // The record, read once and shared: uniform values for the loop's barriers.
  if (lid == 0u) {
    let live = d < min(atomicLoad(&header[hb]), params.maxDet) && atomicLoad(&header[h + 14u]) == 1u;
    rec[DET_WORDS] = select(0u, 1u, live);
    if (live) {
      for (var i = 0u; i < DET_WORDS; i++) {
        rec[i] = atomicLoad(&header[h + i]);
      }
    }
  }
  let r = workgroupUniformLoad(&rec);
  if (r[DET_WORDS] == 0u) {
    return;
  }
  let x0 = r[8];
  let y0 = r[9];
  let words = r[10];
  let nrows = r[11];
  let base = b * params.poolWords + r[12];
  let c0 = r[15] & 0xffffu;
  let c1 = r[15] >> 16u;
  let r0 = r[16] & 0xffffu;
  let r1 = r[16] >> 16u;
  let slot = r[7];
  let coeff = (b * params.cap + slot) * (params.channels + 1u) + 5u + params.nc;
  let plane = params.mh * params.mw;
  let pbase = params.protoBase + b * params.nm * plane;
  let sx = f32(params.mw) / f32(params.iw);
  let sy = f32(params.mh) / f32(params.ih);
  let x1 = x0 + 32u * words;
  let y1 = y0 + nrows;
  let tilesX = words;
  let tiles = tilesX * ((nrows + TILE - 1u) / TILE);
  var n = 0u;
  for (var t = wid.x; t < tiles; t += GROUPS) {
    let tx0 = x0 + (t % tilesX) * TILE;
    let ty0 = y0 + (t / tilesX) * TILE;
    // The tile's first taps: prototype (py0, px0) is logit[0].
    let px0 = min(u32(floor(source(tx0, sx))), params.mw - 1u);
    let py0 = min(u32(floor(source(ty0, sy))), params.mh - 1u);
    let px = px0 + lid % SIDE;
    let py = py0 + lid / SIDE;
    var v = 0.0;
    if (px >= c0 && px < c1 && py >= r0 && py < r1) {
      let p = pbase + py * params.mw + px;
      for (var c = 0u; c < params.nm; c++) {
        v = fma(rows[coeff + c], protos[p + c * plane], v);
      }
    }
    logit[lid] = v;
    workgroupBarrier();

    let y = ty0 + lid / 8u;
    let xw = tx0 + 4u * (lid % 8u);
    if (y < y1 && xw < x1) {
      let fy = source(y, sy);
      let ya = min(u32(floor(fy)), params.mh - 1u);
      let yb = ya + select(0u, 1u, ya < params.mh - 1u);
      let ly = clamp(fy - f32(ya), 0.0, 1.0);
      let ra = (ya - py0) * SIDE;
      let rb = (yb - py0) * SIDE;
      var nibble = 0u;
      for (var e = 0u; e < 4u; e++) {
        let fx = source(xw + e, sx);
        let xa = min(u32(floor(fx)), params.mw - 1u);
        let xb = xa + select(0u, 1u, xa < params.mw - 1u);
        let lx = clamp(fx - f32(xa), 0.0, 1.0);
        let ca = xa - px0;
        let cb = xb - px0;
        let val = (logit[ra + ca] * (1.0 - lx) + logit[ra + cb] * lx) * (1.0 - ly) +
          (logit[rb + ca] * (1.0 - lx) + logit[rb + cb] * lx) * ly;
        if (val > 0.0) {
          nibble |= 1u << e;
          n++;
        }
      }
      if (nibble != 0u) {
        atomicOr(&rowBits[lid / 8u], nibble << (4u * (lid % 8u)));
      }
    }
    workgroupBarrier();
    // One word per tile row: the tile's 32 columns are one word of the window.
    if (lid < TILE) {
      let bits = atomicExchange(&rowBits[lid], 0u);
      let y = ty0 + lid;
      if (y < y1) {
        pool[base + (y - y0) * words + (tx0 - x0) / TILE] = bits;
      }
    }
    workgroupBarrier();
  }
  atomicAdd(&hits, n);
  workgroupBarrier();
  if (lid == 0u) {
    let total = atomicLoad(&hits);
    if (total > 0u) {
      atomicAdd(&header[h + 13u], total);
    }
  }
}
