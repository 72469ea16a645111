// nms: Ultralytics' non_max_suppression as predict runs it (the best class per anchor) over each image's
// candidate list from select_candidates, on the GPU, so that only kept detections and their masks leave
// the device. One workgroup per image:
//   1. each candidate's best class and score (the first class on ties) and the `classes` filter;
//   2. its rank in the descending score order, equal scores in anchor order (torchvision's stable sort of
//      the anchor-ordered candidates);
//   3. boxes xywh -> xyxy in f32, offset by cls * maxWh unless agnostic, and their areas;
//   4. greedy suppression in rank order (IoU > iou removes), stopping at maxDet kept;
//   5. per kept detection: box, score, class, anchor, list slot, the prototype crop of process_mask and the
//      window of output pixels its mask can cover (the crop widened by one prototype pixel, scaled by
//      the integer ratio ih / mh, x aligned to 32 pixels), given room in the image's mask pool in order.
// Arithmetic is float32 as torchvision's; WGSL lets a driver's division be off by an ulp (and fuse a
// multiply-add), which can only flip an IoU within an ulp of the threshold.
// An image with more candidates than its list holds (count > cap) gets status 1 and no detections (the
// reader then runs the CPU path on all of output0). Thread 0 of each image also writes the indirect
// dispatch of instance_masks: (groups, most detections of any image, batch); `args` is zeroed before.
//
// header, per image (headerStride words): [0] detections k, [1] status, [2] pool words used, [3] 0, then
// k records of 20 words: x1 y1 x2 y2 conf (f32 bits), cls, anchor, slot, window x0 y0, words per row
// (32 pixels a word, a bit each), rows, pool offset (words), area (instance_masks adds it), mask status
// (0 empty crop, 1 in the pool, 2 no room left), c0 | c1 << 16, r0 | r1 << 16 (prototype crop), 3 words 0.

struct Params {
  batch: u32,
  cap: u32,
  channels: u32,
  nc: u32,
  maxDet: u32,
  classFilter: u32,
  agnostic: u32,
  headerStride: u32,
  ih: u32,
  iw: u32,
  mh: u32,
  mw: u32,
  poolWords: u32,
  groups: u32,
  iou: f32,
  maxWh: f32,
}

@group(0) @binding(0) var<storage, read> rows: array<f32>;
@group(0) @binding(1) var<storage, read> count: array<u32>;
@group(0) @binding(2) var<storage, read> classes: array<u32>;
@group(0) @binding(3) var<storage, read_write> scratch: array<f32>;
@group(0) @binding(4) var<storage, read_write> header: array<u32>;
@group(0) @binding(5) var<storage, read_write> args: array<atomic<u32>>;
@group(0) @binding(6) var<uniform> params: Params;

override WG: u32 = 256u;
// At least cap: the largest candidate list a workgroup sorts.
override MAXN: u32 = 1024u;

const DET_WORDS = 20u;
// scratch per candidate slot: score, class, anchor, valid; then per sorted position: offset box, area.
const SCRATCH = 8u;

var<workgroup> order: array<u32, MAXN>;
var<workgroup> removed: array<u32, MAXN>;
var<workgroup> keptPos: array<u32, MAXN>;
var<workgroup> valid: atomic<u32>;
var<workgroup> validCount: u32;

@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>) {
  let b = wid.x;
  let hb = b * params.headerStride;
  let total = count[b];
  let width = params.channels + 1u;
  let rb = b * params.cap;
  let sb = b * params.cap * 2u * SCRATCH;
  if (total > params.cap) {
    if (lid == 0u) {
      header[hb] = 0u;
      header[hb + 1u] = 1u;
      header[hb + 2u] = 0u;
      header[hb + 3u] = 0u;
      atomicStore(&args[0], params.groups);
      atomicStore(&args[2], params.batch);
    }
    return;
  }
  let n = total;

  // 1. Best class per candidate and the classes filter.
  for (var i = lid; i < n; i += WG) {
    let r = (rb + i) * width;
    var best = rows[r + 5u];
    var cls = 0u;
    for (var c = 1u; c < params.nc; c++) {
      let s = rows[r + 5u + c];
      if (s > best) {
        best = s;
        cls = c;
      }
    }
    var ok = 1u;
    if (params.classFilter != 0u) {
      ok = (classes[cls / 32u] >> (cls % 32u)) & 1u;
    }
    let o = sb + i * SCRATCH;
    scratch[o] = best;
    scratch[o + 1u] = f32(cls);
    scratch[o + 2u] = rows[r];
    scratch[o + 3u] = f32(ok);
    if (ok != 0u) {
      atomicAdd(&valid, 1u);
    }
  }
  storageBarrier();

  // 2. Rank among the valid candidates: higher score first, then lower anchor.
  for (var i = lid; i < n; i += WG) {
    let oi = sb + i * SCRATCH;
    if (scratch[oi + 3u] == 0.0) {
      continue;
    }
    let si = scratch[oi];
    let ai = scratch[oi + 2u];
    var rank = 0u;
    for (var j = 0u; j < n; j++) {
      let oj = sb + j * SCRATCH;
      let sj = scratch[oj];
      if (scratch[oj + 3u] != 0.0 && (sj > si || (sj == si && scratch[oj + 2u] < ai))) {
        rank++;
      }
    }
    order[rank] = i;
  }
  if (lid == 0u) {
    validCount = atomicLoad(&valid);
  }
  let m = workgroupUniformLoad(&validCount);

  // 3. Offset xyxy boxes and areas in rank order.
  let pb = sb + params.cap * SCRATCH;
  for (var p = lid; p < m; p += WG) {
    let i = order[p];
    let r = (rb + i) * width;
    let hw = rows[r + 3u] / 2.0;
    let hh = rows[r + 4u] / 2.0;
    var off = 0.0;
    if (params.agnostic == 0u) {
      off = scratch[sb + i * SCRATCH + 1u] * params.maxWh;
    }
    let x1 = (rows[r + 1u] - hw) + off;
    let y1 = (rows[r + 2u] - hh) + off;
    let x2 = (rows[r + 1u] + hw) + off;
    let y2 = (rows[r + 2u] + hh) + off;
    let o = pb + p * SCRATCH;
    scratch[o] = x1;
    scratch[o + 1u] = y1;
    scratch[o + 2u] = x2;
    scratch[o + 3u] = y2;
    scratch[o + 4u] = (x2 - x1) * (y2 - y1);
    removed[p] = 0u;
  }
  storageBarrier();

  // 4. Greedy suppression: the next unremoved box is kept and removes the later ones it overlaps.
  var k = 0u;
  for (var p = 0u; p < m; p++) {
    if (k >= params.maxDet) {
      break;
    }
    if (workgroupUniformLoad(&removed[p]) != 0u) {
      continue;
    }
    if (lid == 0u) {
      keptPos[k] = p;
    }
    k++;
    let o = pb + p * SCRATCH;
    let x1 = scratch[o];
    let y1 = scratch[o + 1u];
    let x2 = scratch[o + 2u];
    let y2 = scratch[o + 3u];
    let area = scratch[o + 4u];
    for (var q = p + 1u + lid; q < m; q += WG) {
      if (removed[q] != 0u) {
        continue;
      }
      let oq = pb + q * SCRATCH;
      let w = max(0.0, min(x2, scratch[oq + 2u]) - max(x1, scratch[oq]));
      let h = max(0.0, min(y2, scratch[oq + 3u]) - max(y1, scratch[oq + 1u]));
      let inter = w * h;
      if (inter / ((area + scratch[oq + 4u]) - inter) > params.iou) {
        removed[q] = 1u;
      }
    }
  }
  workgroupBarrier();

  // 5. Records of the kept detections.
  let ratioX = params.iw / params.mw;
  let ratioY = params.ih / params.mh;
  let wr = f32(params.mw) / f32(params.iw);
  let hr = f32(params.mh) / f32(params.ih);
  for (var d = lid; d < k; d += WG) {
    let i = order[keptPos[d]];
    let r = (rb + i) * width;
    let hw = rows[r + 3u] / 2.0;
    let hh = rows[r + 4u] / 2.0;
    let x1 = rows[r + 1u] - hw;
    let y1 = rows[r + 2u] - hh;
    let x2 = rows[r + 1u] + hw;
    let y2 = rows[r + 2u] + hh;
    let h = hb + 4u + d * DET_WORDS;
    header[h] = bitcast<u32>(x1);
    header[h + 1u] = bitcast<u32>(y1);
    header[h + 2u] = bitcast<u32>(x2);
    header[h + 3u] = bitcast<u32>(y2);
    header[h + 4u] = bitcast<u32>(scratch[sb + i * SCRATCH]);
    header[h + 5u] = u32(scratch[sb + i * SCRATCH + 1u]);
    header[h + 6u] = u32(rows[r]);
    header[h + 7u] = i;
    // process_mask's crop at prototype resolution: columns ceil(x1 * mw / iw) <= c < ceil(x2 * mw / iw).
    let c0 = u32(clamp(ceil(x1 * wr), 0.0, f32(params.mw)));
    let c1 = u32(clamp(ceil(x2 * wr), 0.0, f32(params.mw)));
    let r0 = u32(clamp(ceil(y1 * hr), 0.0, f32(params.mh)));
    let r1 = u32(clamp(ceil(y2 * hr), 0.0, f32(params.mh)));
    var wx0 = 0u;
    var wy0 = 0u;
    var words = 0u;
    var wrows = 0u;
    if (c0 < c1 && r0 < r1) {
      // Output pixels whose bilinear taps can reach the crop (a pixel farther out reads only zeros).
      wx0 = (max(c0, 1u) - 1u) * ratioX / 32u * 32u;
      let wx1 = min((min(c1 + 1u, params.mw)) * ratioX, params.iw);
      wy0 = (max(r0, 1u) - 1u) * ratioY;
      let wy1 = min((min(r1 + 1u, params.mh)) * ratioY, params.ih);
      words = (wx1 - wx0 + 31u) / 32u;
      wrows = wy1 - wy0;
    }
    header[h + 8u] = wx0;
    header[h + 9u] = wy0;
    header[h + 10u] = words;
    header[h + 11u] = wrows;
    header[h + 12u] = 0u;
    header[h + 13u] = 0u;
    header[h + 14u] = 0u;
    header[h + 15u] = c0 | (c1 << 16u);
    header[h + 16u] = r0 | (r1 << 16u);
    header[h + 17u] = 0u;
    header[h + 18u] = 0u;
    header[h + 19u] = 0u;
  }
  storageBarrier();
  if (lid == 0u) {
    // Pool room in detection order; a window that does not fit is left to the CPU.
    var used = 0u;
    for (var d = 0u; d < k; d++) {
      let h = hb + 4u + d * DET_WORDS;
      let size = header[h + 10u] * header[h + 11u];
      if (size == 0u) {
        continue;
      }
      if (used + size <= params.poolWords) {
        header[h + 12u] = used;
        header[h + 14u] = 1u;
        used += size;
      } else {
        header[h + 14u] = 2u;
      }
    }
    header[hb] = k;
    header[hb + 1u] = 0u;
    header[hb + 2u] = used;
    header[hb + 3u] = 0u;
    atomicStore(&args[0], params.groups);
    atomicMax(&args[1], k);
    atomicStore(&args[2], params.batch);
  }
}
