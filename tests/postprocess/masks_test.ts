import assert from "node:assert/strict";
import {
  maskAreas,
  processMask,
  processMaskNative,
  type Protos,
  scaleMasksCut,
} from "../../src/postprocess/masks.ts";

const f32 = Math.fround;

// ---- a plain reference: full-size tensors, step by step as Ultralytics writes them ----

/** coeffs @ protos → [k, mh, mw] (sum over m in order, in double). */
function matmul(
  protos: Float32Array,
  coeffs: Float32Array,
  k: number,
  nm: number,
  plane: number,
): Float64Array {
  const out = new Float64Array(k * plane);
  for (let d = 0; d < k; d++) {
    for (let m = 0; m < nm; m++) {
      const c = coeffs[d * nm + m];
      if (c === 0) continue;
      for (let i = 0; i < plane; i++) out[d * plane + i] += c * protos[m * plane + i];
    }
  }
  return out;
}

/** crop_mask: zero where not (x1 <= col < x2 and y1 <= row < y2). */
function crop(masks: Float64Array, boxes: ArrayLike<number>, k: number, h: number, w: number): void {
  for (let d = 0; d < k; d++) {
    const [x1, y1, x2, y2] = [0, 1, 2, 3].map((i) => boxes[4 * d + i]);
    for (let r = 0; r < h; r++) {
      for (let c = 0; c < w; c++) {
        if (!(c >= x1 && c < x2 && r >= y1 && r < y2)) masks[(d * h + r) * w + c] = 0;
      }
    }
  }
}

/** F.interpolate(mode="bilinear", align_corners=False) of [k, h, w] to [k, oh, ow]. */
function interpolate(
  masks: Float64Array,
  k: number,
  h: number,
  w: number,
  oh: number,
  ow: number,
): Float64Array {
  const src = (o: number, inSize: number, outSize: number) => {
    const s = f32(f32(f32(inSize / outSize) * f32(o + 0.5)) - 0.5);
    return s < 0 ? 0 : s;
  };
  const out = new Float64Array(k * oh * ow);
  for (let d = 0; d < k; d++) {
    for (let y = 0; y < oh; y++) {
      const sy = src(y, h, oh), y0 = Math.min(Math.floor(sy), h - 1), y1 = y0 + (y0 < h - 1 ? 1 : 0);
      const ly = f32(sy - y0);
      for (let x = 0; x < ow; x++) {
        const sx = src(x, w, ow), x0 = Math.min(Math.floor(sx), w - 1), x1 = x0 + (x0 < w - 1 ? 1 : 0);
        const lx = f32(sx - x0);
        const v = (i: number, j: number) => masks[(d * h + i) * w + j];
        out[(d * oh + y) * ow + x] = (v(y0, x0) * (1 - lx) + v(y0, x1) * lx) * (1 - ly) +
          (v(y1, x0) * (1 - lx) + v(y1, x1) * lx) * ly;
      }
    }
  }
  return out;
}

function plainProcessMask(p: Protos, coeffs: Float32Array, boxes: Float32Array, shape: [number, number]) {
  const [nm, mh, mw] = p.shape;
  const k = boxes.length / 4;
  const masks = matmul(p.data, coeffs, k, nm, mh * mw);
  const down = boxes.map((v, i) => f32(v * f32(i % 2 === 0 ? mw / shape[1] : mh / shape[0])));
  crop(masks, down, k, mh, mw);
  return Uint8Array.from(interpolate(masks, k, mh, mw, shape[0], shape[1]), (v) => v > 0 ? 1 : 0);
}

function plainProcessMaskNative(
  p: Protos,
  coeffs: Float32Array,
  boxes: Float32Array,
  orig: [number, number],
) {
  const [nm, mh, mw] = p.shape;
  const k = boxes.length / 4;
  const full = matmul(p.data, coeffs, k, nm, mh * mw);
  const { top, bottom, left, right } = scaleMasksCut([mh, mw], orig);
  const ch = bottom - top, cw = right - left;
  const cut = new Float64Array(k * ch * cw);
  for (let d = 0; d < k; d++) {
    for (let r = 0; r < ch; r++) {
      for (let c = 0; c < cw; c++) cut[(d * ch + r) * cw + c] = full[(d * mh + r + top) * mw + c + left];
    }
  }
  const up = interpolate(cut, k, ch, cw, orig[0], orig[1]);
  crop(up, boxes, k, orig[0], orig[1]);
  return Uint8Array.from(up, (v) => v > 0 ? 1 : 0);
}

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => (s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32;
}

function randomCase(seed: number, nm: number, mh: number, mw: number, k: number, h: number, w: number) {
  const r = rng(seed);
  const protos: Protos = {
    data: Float32Array.from({ length: nm * mh * mw }, () => r() - 0.5),
    shape: [nm, mh, mw],
  };
  const coeffs = Float32Array.from({ length: k * nm }, () => r() * 2 - 1);
  const boxes = new Float32Array(4 * k);
  for (let d = 0; d < k; d++) {
    const x1 = r() * w * 1.1 - 0.1 * w, y1 = r() * h * 1.1 - 0.1 * h;
    boxes.set([x1, y1, x1 + r() * w * 0.8, y1 + r() * h * 0.8], 4 * d);
  }
  if (k > 0) boxes.set([0, 0, w, h], 0); // one full-image box
  if (k > 1) boxes.set([2, 3, 2, 9], 4); // an empty (zero-width) box
  return { protos, coeffs, boxes };
}

Deno.test("masks: processMask equals the plain crop → upsample → threshold", () => {
  const cases: [number, number, number, number, number][] = [
    // nm, mh, mw, h, w: the network's ratio 1/4, odd sizes, and non-integer ratios
    [4, 8, 10, 32, 40],
    [3, 5, 7, 20, 28],
    [5, 7, 6, 13, 17],
    [2, 4, 4, 4, 4],
    [3, 9, 5, 8, 11],
  ];
  for (const [i, [nm, mh, mw, h, w]] of cases.entries()) {
    const { protos, coeffs, boxes } = randomCase(100 + i, nm, mh, mw, 7, h, w);
    const got = processMask(protos, coeffs, boxes, [h, w]);
    assert.deepEqual(got.shape, [7, h, w]);
    assert.deepEqual(got.data, plainProcessMask(protos, coeffs, boxes, [h, w]), `case ${i}`);
  }
});

Deno.test("masks: processMask and processMaskNative equal the plain reference on smooth prototypes (nm 32)", () => {
  // Smooth prototypes give large all-positive and all-negative regions (decided from the tap signs) with
  // thin edges between them (blended), like a trained model's.
  const [nm, mh, mw, h, w] = [32, 24, 40, 96, 160];
  const r = rng(7);
  const waves = Array.from({ length: nm }, () => [r() * 0.6 - 0.3, r() * 0.6 - 0.3, r() * 6]);
  const data = new Float32Array(nm * mh * mw);
  for (let m = 0; m < nm; m++) {
    const [a, b, c] = waves[m];
    for (let y = 0; y < mh; y++) {
      for (let x = 0; x < mw; x++) data[(m * mh + y) * mw + x] = Math.sin(a * x + b * y + c);
    }
  }
  const protos: Protos = { data, shape: [nm, mh, mw] };
  const { coeffs, boxes } = randomCase(300, nm, mh, mw, 9, h, w);
  const got = processMask(protos, coeffs, boxes, [h, w]);
  assert.deepEqual(got.data, plainProcessMask(protos, coeffs, boxes, [h, w]));
  const ones = got.data.reduce((s, v) => s + v, 0);
  assert.ok(ones > 0.05 * got.data.length && ones < 0.95 * got.data.length, `${ones} mask pixels`);
  const orig: [number, number] = [150, 200];
  const native = processMaskNative(protos, coeffs, boxes, orig);
  assert.deepEqual(native.data, plainProcessMaskNative(protos, coeffs, boxes, orig));
});

Deno.test("masks: processMaskNative equals the plain cut → upsample → crop → threshold", () => {
  const cases: [number, number, number, number, number][] = [
    // nm, mh, mw, orig h, orig w (letterbox pad at prototype resolution, fractional in some)
    [4, 12, 16, 45, 64],
    [3, 16, 16, 108, 81],
    [2, 10, 10, 37, 40],
    [3, 7, 9, 7, 9],
  ];
  for (const [i, [nm, mh, mw, h, w]] of cases.entries()) {
    const { protos, coeffs, boxes } = randomCase(200 + i, nm, mh, mw, 6, h, w);
    const got = processMaskNative(protos, coeffs, boxes, [h, w]);
    assert.deepEqual(got.shape, [6, h, w]);
    assert.deepEqual(got.data, plainProcessMaskNative(protos, coeffs, boxes, [h, w]), `case ${i}`);
  }
});

Deno.test("masks: crop keeps x1 <= col < x2 and y1 <= row < y2 (no resampling at equal sizes)", () => {
  const ones: Protos = { data: new Float32Array(16).fill(1), shape: [1, 4, 4] };
  const rows = (m: Uint8Array) => [0, 1, 2, 3].map((r) => [...m.subarray(4 * r, 4 * r + 4)].join(""));
  // Integer edges: column 1 and row 1 kept, column 3 and row 3 not.
  assert.deepEqual(rows(processMask(ones, new Float32Array([1]), [1, 1, 3, 3], [4, 4]).data), [
    "0000",
    "0110",
    "0110",
    "0000",
  ]);
  // Fractional edges: ceil(0.5) = 1 is the first column kept; 2.0001 still keeps column 2.
  assert.deepEqual(rows(processMask(ones, new Float32Array([1]), [0.5, 0, 2.0001, 0.5], [4, 4]).data), [
    "0110",
    "0000",
    "0000",
    "0000",
  ]);
  // Negative logits never pass the > 0 threshold; zero logits neither.
  assert.deepEqual(
    maskAreas(processMask(ones, new Float32Array([-1]), [0, 0, 4, 4], [4, 4])),
    new Uint32Array([0]),
  );
  assert.deepEqual(
    maskAreas(processMask(ones, new Float32Array([0]), [0, 0, 4, 4], [4, 4])),
    new Uint32Array([0]),
  );
});

Deno.test("masks: bilinear upsampling blends the cropped logits with the zeros around them", () => {
  // One prototype row [-1, 3]; crop keeps both; 2 → 8 columns: src = (x + 0.5) / 4 - 0.5.
  const p: Protos = { data: new Float32Array([-1, 3]), shape: [1, 1, 2] };
  const m = processMask(p, new Float32Array([1]), [0, 0, 8, 1], [1, 8]);
  // values: -1, -1, -0.5, 0.5, 1.5, 2.5, 3, 3 → > 0 from column 3
  assert.deepEqual([...m.data], [0, 0, 0, 1, 1, 1, 1, 1]);
  // Crop the right prototype column away: 3 becomes 0, so nothing is positive.
  const c = processMask(p, new Float32Array([1]), [0, 0, 4, 1], [1, 8]);
  assert.deepEqual([...c.data], [0, 0, 0, 0, 0, 0, 0, 0]);
});

Deno.test("masks: scale_masks cuts the padding at prototype resolution with round(pad ∓ 0.1)", () => {
  // 000000000540.jpg (425x640) in a 448x640 letterbox: padH = (112 - 106.25) / 2 = 2.875.
  assert.deepEqual(scaleMasksCut([112, 160], [425, 640]), { top: 3, bottom: 109, left: 0, right: 160 });
  // bus.jpg (1080x810) in 640x640: padW = 20.
  assert.deepEqual(scaleMasksCut([160, 160], [1080, 810]), { top: 0, bottom: 160, left: 20, right: 140 });
  // 425x640 in 640x640: padH = 26.875 → top 27, bottom 160 - 27.
  assert.deepEqual(scaleMasksCut([160, 160], [425, 640]), { top: 27, bottom: 133, left: 0, right: 160 });
  // No padding at all.
  assert.deepEqual(scaleMasksCut([8, 8], [32, 32]), { top: 0, bottom: 8, left: 0, right: 8 });
});

Deno.test("masks: maskAreas counts pixels per mask; no detections give an empty stack", () => {
  assert.deepEqual(
    maskAreas({ data: new Uint8Array([1, 1, 0, 0, 0, 0, 1, 0]), shape: [2, 2, 2] }),
    new Uint32Array([2, 1]),
  );
  const p: Protos = { data: new Float32Array(2 * 4 * 4), shape: [1, 2, 4, 4] };
  const none = processMask(p, new Float32Array(0), new Float32Array(0), [16, 16]);
  assert.deepEqual(none.shape, [0, 16, 16]);
  assert.equal(processMaskNative(p, new Float32Array(0), new Float32Array(0), [10, 16]).data.length, 0);
});

Deno.test("masks: inconsistent sizes throw RangeError", () => {
  const p: Protos = { data: new Float32Array(2 * 4 * 4), shape: [2, 4, 4] };
  assert.throws(() => processMask(p, new Float32Array(3), new Float32Array(4), [16, 16]), RangeError);
  assert.throws(() => processMask(p, new Float32Array(2), new Float32Array(5), [16, 16]), RangeError);
  assert.throws(
    () =>
      processMaskNative({ data: new Float32Array(5), shape: [2, 4, 4] }, new Float32Array(2), [0, 0, 1, 1], [
        4,
        4,
      ]),
    RangeError,
  );
});

Deno.test("maskAreas counts 0/1 bytes four at a time exactly as one at a time (aligned, odd and offset planes)", () => {
  let seed = 3;
  const next = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  for (const [k, h, w, offset] of [[3, 8, 16, 0], [2, 5, 7, 0], [4, 6, 8, 2], [1, 1, 4, 0]]) {
    const buf = new Uint8Array(offset + k * h * w);
    const data = buf.subarray(offset);
    for (let i = 0; i < data.length; i++) data[i] = next() < 0.4 ? 1 : 0;
    const want = new Uint32Array(k);
    for (let d = 0; d < k; d++) for (let i = 0; i < h * w; i++) want[d] += data[d * h * w + i];
    assert.deepEqual(maskAreas({ data, shape: [k, h, w] }), want, `${k}x${h}x${w}+${offset}`);
  }
});
