/**
 * EXIF orientation: the Orientation tag read from a JPEG's first APP1 segment and applied to the decoded
 * pixels as OpenCV's `imread`/`imdecode` (IMREAD_COLOR) does. The JPEGs are made here: a small image
 * encoded by `@jsquash/jpeg`, with an Exif APP1 spliced in after SOI.
 */
import assert from "node:assert/strict";
import encodeJpeg from "@jsquash/jpeg/encode.js";
import { decodeImage, type Image } from "../../src/io/image.ts";
import { jpegOrientation, orientPixels } from "../../src/io/image_exif.ts";

/** An Exif APP1 segment whose IFD0 holds the Orientation tag (SHORT) and, first, an unrelated tag. */
function exifApp1(orientation: number, littleEndian: boolean): Uint8Array {
  const tiff = new Uint8Array(8 + 2 + 2 * 12 + 4);
  const dv = new DataView(tiff.buffer);
  tiff.set(littleEndian ? [0x49, 0x49] : [0x4d, 0x4d]);
  dv.setUint16(2, 42, littleEndian);
  dv.setUint32(4, 8, littleEndian); // IFD0 right after the header
  dv.setUint16(8, 2, littleEndian); // two entries
  const entry = (k: number, tag: number, type: number, value: number) => {
    const e = 10 + 12 * k;
    dv.setUint16(e, tag, littleEndian);
    dv.setUint16(e + 2, type, littleEndian);
    dv.setUint32(e + 4, 1, littleEndian);
    dv.setUint16(e + 8, value, littleEndian);
  };
  entry(0, 0x0100, 3, 6); // ImageWidth
  entry(1, 0x0112, 3, orientation);
  return segment(0xe1, [..."Exif\0\0"].map((c) => c.charCodeAt(0)).concat([...tiff]));
}

function segment(marker: number, payload: number[]): Uint8Array {
  const len = payload.length + 2;
  return new Uint8Array([0xff, marker, len >> 8, len & 255, ...payload]);
}

/** `jpeg` with `segments` inserted right after SOI. */
function splice(jpeg: Uint8Array, ...segments: Uint8Array[]): Uint8Array {
  return new Uint8Array([...jpeg.subarray(0, 2), ...segments.flatMap((s) => [...s]), ...jpeg.subarray(2)]);
}

const W = 6, H = 4;
const rgba = new Uint8ClampedArray(W * H * 4);
for (let i = 0; i < W * H; i++) rgba.set([(i * 40) % 256, (i * 90) % 256, 255 - i * 10, 255], 4 * i);
const plain = new Uint8Array(
  await encodeJpeg({ data: rgba, width: W, height: H } as ImageData, { quality: 95 }),
);

// Independent rotations of an RGB image, written from their geometric meaning.
const at = (
  img: Image,
  x: number,
  y: number,
) => [...img.data.subarray(3 * (y * img.width + x), 3 * (y * img.width + x) + 3)];
function remap(img: Image, w: number, h: number, src: (x: number, y: number) => [number, number]): Image {
  const data = new Uint8Array(w * h * 3);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) data.set(at(img, ...src(x, y)), 3 * (y * w + x));
  return { width: w, height: h, data };
}
const mirror = (m: Image) => remap(m, m.width, m.height, (x, y) => [m.width - 1 - x, y]);
const rotate180 = (m: Image) => remap(m, m.width, m.height, (x, y) => [m.width - 1 - x, m.height - 1 - y]);
const flipV = (m: Image) => remap(m, m.width, m.height, (x, y) => [x, m.height - 1 - y]);
/** Turned 90° clockwise: the output's first row is the input's first column read bottom to top. */
const rotateCw = (m: Image) => remap(m, m.height, m.width, (x, y) => [y, m.height - 1 - x]);
const rotateCcw = (m: Image) => remap(m, m.height, m.width, (x, y) => [m.width - 1 - y, x]);
/** What a viewer shows for each EXIF orientation of the stored pixels (EXIF 2.32, tag 274). */
const upright: Record<number, (m: Image) => Image> = {
  1: (m) => m,
  2: mirror,
  3: rotate180,
  4: flipV,
  5: (m) => mirror(rotateCw(m)),
  6: rotateCw,
  7: (m) => mirror(rotateCcw(m)),
  8: rotateCcw,
};

Deno.test("jpegOrientation reads IFD0's tag in either byte order; 1 without Exif", () => {
  for (let o = 1; o <= 8; o++) {
    assert.equal(jpegOrientation(splice(plain, exifApp1(o, true))), o);
    assert.equal(jpegOrientation(splice(plain, exifApp1(o, false))), o);
  }
  assert.equal(jpegOrientation(plain), 1);
  assert.equal(jpegOrientation(splice(plain, exifApp1(9, true))), 1); // out of range: ignored
  assert.equal(jpegOrientation(splice(plain, exifApp1(0, false))), 1);
  assert.equal(jpegOrientation(new Uint8Array([0xff, 0xd8])), 1);
  const brokenTiff = splice(plain, segment(0xe1, [..."Exif\0\0XX*\0"].map((c) => c.charCodeAt(0))));
  assert.equal(jpegOrientation(brokenTiff), 1);
});

Deno.test("jpegOrientation: only the first APP1 counts, as OpenCV's JPEG reader takes it", () => {
  const xmp = segment(0xe1, [..."http://ns.adobe.com/xap/1.0/\0<x/>"].map((c) => c.charCodeAt(0)));
  assert.equal(jpegOrientation(splice(plain, exifApp1(6, true), xmp)), 6);
  assert.equal(jpegOrientation(splice(plain, xmp, exifApp1(6, true))), 1);
  // behind another segment (a COM) it is still found
  const com = segment(0xfe, [0x68, 0x69]);
  assert.equal(jpegOrientation(splice(plain, com, exifApp1(3, false))), 3);
});

Deno.test("decodeImage applies orientations 1..8 to the decoded pixels (6, 3 and 8: rotations)", async () => {
  const stored = await decodeImage(plain, "plain.jpg");
  assert.deepEqual([stored.width, stored.height], [W, H]);
  for (let o = 1; o <= 8; o++) {
    for (const le of [true, false]) {
      const got = await decodeImage(splice(plain, exifApp1(o, le)), `o${o}.jpg`);
      const want = upright[o](stored);
      assert.deepEqual([got.width, got.height], [want.width, want.height], `orientation ${o}`);
      assert.deepEqual(got.data, want.data, `orientation ${o}`);
    }
  }
});

Deno.test("orientPixels on a 3x2 one-channel grid, every orientation written out", () => {
  // stored:  a b c     (a=1 .. f=6)
  //          d e f
  const img = { width: 3, height: 2, data: new Uint8Array([1, 2, 3, 4, 5, 6]) };
  const cases: [number, number, number, number[]][] = [
    [1, 3, 2, [1, 2, 3, 4, 5, 6]],
    [2, 3, 2, [3, 2, 1, 6, 5, 4]],
    [3, 3, 2, [6, 5, 4, 3, 2, 1]],
    [4, 3, 2, [4, 5, 6, 1, 2, 3]],
    [5, 2, 3, [1, 4, 2, 5, 3, 6]], // transpose
    [6, 2, 3, [4, 1, 5, 2, 6, 3]], // 90° clockwise
    [7, 2, 3, [6, 3, 5, 2, 4, 1]], // transverse
    [8, 2, 3, [3, 6, 2, 5, 1, 4]], // 90° counter-clockwise
  ];
  for (const [o, w, h, data] of cases) {
    const out = orientPixels(img, o);
    assert.deepEqual([out.width, out.height, [...out.data]], [w, h, data], `orientation ${o}`);
  }
  assert.equal(orientPixels(img, 0), img);
  assert.equal(orientPixels(img, 9), img);
});
