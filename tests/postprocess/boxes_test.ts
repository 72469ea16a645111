import assert from "node:assert/strict";
import {
  clipBoxes,
  letterboxRatioPad,
  pyRound,
  scaleBoxes,
  scaleCoords,
  xywh2xyxy,
} from "../../src/postprocess/boxes.ts";

Deno.test("boxes: pyRound rounds halves to even like Python", () => {
  assert.deepEqual([0.5, 1.5, 2.5, -0.5, -1.5, 11.4, 11.6, 107.4].map(pyRound), [
    0,
    2,
    2,
    0,
    -2,
    11,
    12,
    107,
  ]);
});

Deno.test("boxes: xywh2xyxy", () => {
  assert.deepEqual(xywh2xyxy([5, 5, 10, 10, 1.5, 2.5, 1, 3]), new Float32Array([0, 0, 10, 10, 1, 1, 2, 4]));
});

Deno.test("boxes: letterbox gain and pad as scale_boxes computes them", () => {
  // rect letterbox: 425x640 → 448x640, dh = 11.5 → round(11.4) = 11
  assert.deepEqual(letterboxRatioPad([448, 640], [425, 640]), [[1, 1], [0, 11]]);
  // square letterbox of the same image: dh = 107.5 → round(107.4) = 107
  assert.deepEqual(letterboxRatioPad([640, 640], [425, 640]), [[1, 1], [0, 107]]);
  // bus.jpg 1080x810 → 640x640: gain 640/1080, dw = (640 - 480) / 2 = 80
  const [[gain], [px, py]] = letterboxRatioPad([640, 640], [1080, 810]);
  assert.equal(gain, 640 / 1080);
  assert.deepEqual([px, py], [80, 0]);
});

Deno.test("boxes: scaleBoxes subtracts the rounded pad, divides by the gain, clips to the image", () => {
  const lb = new Float32Array([10, 11, 100, 436, -5, 5, 700, 20]);
  const out = scaleBoxes(lb, [448, 640], [425, 640]);
  assert.deepEqual([...out], [10, 0, 100, 425, 0, 0, 640, 9]);
  assert.deepEqual([...lb], [10, 11, 100, 436, -5, 5, 700, 20]); // input untouched
  const bus = scaleBoxes(new Float32Array([80, 0, 560, 640]), [640, 640], [1080, 810]);
  assert.deepEqual([...bus], [0, 0, 810, 1080]);
  const b = scaleBoxes(new Float32Array([98.6, 320, 200, 400]), [640, 640], [1080, 810]);
  const g = Math.fround(640 / 1080);
  assert.equal(b[0], Math.fround(Math.fround(Math.fround(98.6) - 80) / g));
  assert.equal(b[1], Math.fround(320 / g));
});

Deno.test("boxes: scaleBoxes with an explicit ratioPad and without padding", () => {
  const out = scaleBoxes(new Float32Array([20, 30, 40, 50]), [64, 64], [100, 100], {
    ratioPad: [[0.5, 0.5], [4, 6]],
  });
  assert.deepEqual([...out], [32, 48, 72, 88]);
  const np = scaleBoxes(new Float32Array([20, 30, 40, 50]), [64, 64], [128, 128], { padding: false });
  assert.deepEqual([...np], [40, 60, 80, 100]);
});

Deno.test("boxes: clipBoxes clamps in place to [0, w] x [0, h]", () => {
  const b = new Float32Array([-1, -2, 31, 41, 3, 4, 5, 6]);
  assert.equal(clipBoxes(b, [40, 30]), b);
  assert.deepEqual([...b], [0, 0, 30, 40, 3, 4, 5, 6]);
});

Deno.test("boxes: scaleCoords uses the unrounded pad (half pixels) and clips points", () => {
  const out = scaleCoords(new Float32Array([149, 273, 0, 5, 639, 447]), [448, 640], [425, 640]);
  assert.deepEqual([...out], [149, 261.5, 0, 0, 639, 425]);
  // Float32 steps, as numpy on float32 segments: (517 - 0) / float32(640 / 1080).
  const bus = scaleCoords(new Float32Array([97, 517]), [640, 640], [1080, 810]);
  const g = Math.fround(640 / 1080);
  assert.deepEqual([...bus], [Math.fround(17 / g), Math.fround(517 / g)]);
  assert.deepEqual([...scaleCoords([3, 4], [10, 10], [10, 10])], [3, 4]);
});
