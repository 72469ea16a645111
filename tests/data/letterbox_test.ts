/**
 * Ultralytics 8.3.159 `LetterBox` as the predictor uses it: geometry (against hand arithmetic and the
 * reference run in ../shared/refs), tensor layout, batches, and the pixels against OpenCV.
 *
 * The SHA-1 digests are of the letterboxed uint8 image (HWC, RGB) that Ultralytics' own code path gives:
 * `cv2.imdecode(..., IMREAD_COLOR)`, `LetterBox(640, auto=...)` arithmetic, `cv2.resize(INTER_LINEAR)`,
 * `cv2.copyMakeBorder(114)`, produced with Debian bookworm's python3-opencv 4.6.0.
 */
import assert from "node:assert/strict";
import { letterbox, letterboxGeometry, letterboxInto } from "../../src/data/letterbox.ts";
import { decodeImage, type Image, loadImage } from "../../src/io/image.ts";
import { sharedPath } from "../_shared.ts";
import { sha1 } from "../_sha1.ts";

/** The letterboxed tensor back to uint8 HWC RGB (exact: every value is k / 255 in float32). */
function toBytes(data: Float32Array, h: number, w: number): Uint8Array {
  const out = new Uint8Array(h * w * 3);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      for (let c = 0; c < 3; c++) out[(y * w + x) * 3 + c] = Math.round(data[(c * h + y) * w + x] * 255);
    }
  }
  return out;
}

const bus = await loadImage(sharedPath("images/bus.jpg"));
const zidane = await loadImage(sharedPath("images/zidane.jpg"));
const coco540 = sharedPath("datasets/coco128-seg/images/train2017/000000000540.jpg");

Deno.test("letterboxGeometry: bus.jpg (810x1080) alone is 480x640 with no padding; in a batch 640x640", () => {
  const rect = letterboxGeometry([1080, 810], { auto: true });
  // r = min(640/1080, 640/810) = 0.5926; new_unpad = (round(480.0), round(640.0)); dw = 160 % 32 = 0
  assert.equal(rect.ratio[0], 640 / 1080);
  assert.deepEqual(rect.newUnpad, [480, 640]);
  assert.deepEqual(rect.letterboxShape, [640, 480]);
  assert.deepEqual(rect.pad, [0, 0]);
  assert.deepEqual(rect.border, { top: 0, bottom: 0, left: 0, right: 0 });
  const square = letterboxGeometry([1080, 810]);
  assert.deepEqual(square.letterboxShape, [640, 640]);
  assert.deepEqual(square.pad, [80, 0]);
  assert.deepEqual(square.border, { top: 0, bottom: 0, left: 80, right: 80 });
});

Deno.test("letterboxGeometry: zidane.jpg (1280x720) alone is 640x384; in a batch 640x640", () => {
  const rect = letterboxGeometry([720, 1280], { auto: true });
  // r = 0.5; new_unpad = (640, 360); dh = 280 % 32 = 24 → 12 above, 12 below
  assert.deepEqual(rect.ratio, [0.5, 0.5]);
  assert.deepEqual(rect.newUnpad, [640, 360]);
  assert.deepEqual(rect.letterboxShape, [384, 640]);
  assert.deepEqual(rect.pad, [0, 12]);
  assert.deepEqual(rect.border, { top: 12, bottom: 12, left: 0, right: 0 });
  const square = letterboxGeometry([720, 1280], { newShape: [640, 640] });
  assert.deepEqual(square.letterboxShape, [640, 640]);
  assert.deepEqual(square.border, { top: 140, bottom: 140, left: 0, right: 0 });
});

Deno.test("letterbox of a real 425x640 image has the letterbox_shape Ultralytics recorded", async () => {
  const ref = JSON.parse(await Deno.readTextFile(sharedPath("refs/yolo11n-seg-c128.json")));
  const entry = ref.predict_single["000000000540.jpg"];
  assert.deepEqual(entry.orig_shape, [425, 640]);
  assert.deepEqual(entry.letterbox_shape, [448, 640]);
  const img = await loadImage(coco540);
  assert.deepEqual([img.height, img.width], entry.orig_shape);
  const lb = letterbox(img, { auto: true });
  assert.deepEqual(lb.letterboxShape, entry.letterbox_shape);
  assert.deepEqual(lb.shape, [1, 3, ...entry.letterbox_shape]);
  // dh = 215 % 32 = 23 → 11.5: round(11.4) = 11 above, round(11.6) = 12 below; r = 1, no resize
  assert.deepEqual(lb.pad, [0, 11.5]);
  assert.deepEqual(lb.border, { top: 11, bottom: 12, left: 0, right: 0 });
  assert.deepEqual(lb.origShape, [425, 640]);
});

Deno.test("letterboxGeometry: Python's round (half to even), scaleup=False, center=False", () => {
  // 5x10 into 5x5: r = 0.5, w * r = 2.5 → round → 2 (not 3); dw = 3 → 1.5: left 1, right 2
  const g = letterboxGeometry([10, 5], { newShape: 5 });
  assert.deepEqual(g.newUnpad, [2, 5]);
  assert.deepEqual(g.border, { top: 0, bottom: 0, left: 1, right: 2 });
  assert.deepEqual(g.letterboxShape, [5, 5]);
  // a small image is not enlarged with scaleup=False: 100x50 stays, padded to multiples of 32
  const small = letterboxGeometry([50, 100], { auto: true, scaleup: false });
  assert.deepEqual(small.ratio, [1, 1]);
  assert.deepEqual(small.newUnpad, [100, 50]);
  assert.deepEqual(small.letterboxShape, [64, 128]); // dw = 540 % 32 = 28, dh = 590 % 32 = 14
  assert.deepEqual(small.border, { top: 7, bottom: 7, left: 14, right: 14 });
  // and enlarged by default: r = 6.4 → 640x320
  assert.deepEqual(letterboxGeometry([50, 100], { auto: true }).letterboxShape, [320, 640]);
  const corner = letterboxGeometry([720, 1280], { center: false });
  assert.deepEqual(corner.border, { top: 0, bottom: 280, left: 0, right: 0 });
  assert.deepEqual(corner.pad, [0, 280]);
  assert.throws(() => letterboxGeometry([0, 10]), RangeError);
  assert.throws(() => letterboxGeometry([10, 10], { stride: 0, auto: true }), RangeError);
});

Deno.test("letterbox: NCHW RGB / 255 with a 114 border, pixels placed at the border offset", () => {
  // 4 wide, 3 tall, r = 1 into 8x8 (no resize): dw = 4 → 2 + 2, dh = 5 → 2.5: top 2, bottom 3
  const data = Uint8Array.from({ length: 4 * 3 * 3 }, (_, i) => i * 7);
  const img: Image = { width: 4, height: 3, data };
  const lb = letterbox(img, { newShape: 8, scaleup: false });
  assert.deepEqual(lb.shape, [1, 3, 8, 8]);
  assert.deepEqual(lb.border, { top: 2, bottom: 3, left: 2, right: 2 });
  const want = new Float32Array(3 * 64).fill(Math.fround(114 / 255));
  for (let y = 0; y < 3; y++) {
    for (let x = 0; x < 4; x++) {
      for (let c = 0; c < 3; c++) want[c * 64 + (y + 2) * 8 + (x + 2)] = data[(y * 4 + x) * 3 + c] / 255;
    }
  }
  assert.deepEqual(lb.data, want);
  assert.equal(lb.data[0], Math.fround(114 / 255));
  const grey = letterbox(img, { newShape: 8, scaleup: false, padValue: 0 });
  assert.equal(grey.data[0], 0);
});

Deno.test("letterboxInto writes each image of a batch at its offset", async () => {
  const small = await decodeImage(await Deno.readFile(coco540), "540.jpg");
  const plane = 3 * 640 * 640;
  const batch = new Float32Array(2 * plane).fill(-1);
  const g0 = letterboxInto(bus, batch, {});
  const g1 = letterboxInto(small, batch, { offset: plane });
  assert.deepEqual([g0.letterboxShape, g1.letterboxShape], [[640, 640], [640, 640]]);
  assert.deepEqual(batch.subarray(0, plane), letterbox(bus).data);
  assert.deepEqual(batch.subarray(plane), letterbox(small).data);
  assert.throws(() => letterboxInto(bus, batch, { offset: plane + 1 }), RangeError);
});

Deno.test("letterbox pixels are OpenCV's: bus and zidane alone and batched, a 425x640 image padded", async () => {
  const cases: [Image, boolean, [number, number], string][] = [
    [bus, true, [640, 480], "de914e2dd1452e20c841cddba2bf4ed3ebe35fa8"],
    [bus, false, [640, 640], "baddc46705b3f7f9efeb4a9083e7006f3f9a8b00"],
    [zidane, true, [384, 640], "1c2e650e680650278f951b64e0e85ca4cbcdbfc8"], // exact 2x: INTER_AREA path
    [zidane, false, [640, 640], "d4b49c797afa2f7edd7a3ff9d1bfa048cbb2e864"],
    [await loadImage(coco540), true, [448, 640], "26cc57a89161c9c51e42f3aec567845e1c2fa4b7"], // border only
  ];
  for (const [img, auto, shape, digest] of cases) {
    const lb = letterbox(img, { auto });
    assert.deepEqual(lb.letterboxShape, shape);
    assert.equal(await sha1(toBytes(lb.data, ...shape)), digest, `${img.width}x${img.height} auto=${auto}`);
  }
});
