import assert from "node:assert/strict";
import { fillPoly } from "../../src/data/fill_poly.ts";

/**
 * Oracle output of `cv2.fillPoly(np.zeros((h, w), np.uint8), np.array([polygon], np.int32), 1)` from
 * opencv-python 4.6 (Debian's python3-opencv), rows as `#` (1) and `.` (0). The implementation was also
 * compared with it on 400 random polygons and their 4x INTER_LINEAR downsampling (all identical).
 */
const OPENCV_CASES = [
  {
    name: "thin triangle",
    width: 8,
    height: 12,
    polygon: [5, 10, 3, 8, 0, 0],
    rows: [
      "#.......",
      "#.......",
      ".#......",
      ".#......",
      ".##.....",
      "..#.....",
      "..##....",
      "...#....",
      "...##...",
      "....#...",
      ".....#..",
      "........",
    ],
  },
  {
    name: "self-intersecting bow tie",
    width: 10,
    height: 9,
    polygon: [0, 0, 9, 8, 9, 0, 0, 8],
    rows: [
      "#........#",
      "##......##",
      "###....###",
      "####..####",
      "##########",
      "####..####",
      "###....###",
      "##......##",
      "#........#",
    ],
  },
  {
    name: "vertices on and past the border",
    width: 9,
    height: 7,
    polygon: [-3, 2, 9, 0, 9, 7, 4, 9, 0, 6],
    rows: [
      ".......##",
      "...######",
      "#########",
      "#########",
      "#########",
      "#########",
      "#########",
    ],
  },
  {
    name: "concave",
    width: 10,
    height: 10,
    polygon: [1, 1, 8, 1, 8, 8, 5, 8, 5, 4, 3, 4, 3, 8, 1, 8],
    rows: [
      "..........",
      ".########.",
      ".########.",
      ".########.",
      ".########.",
      ".###.####.",
      ".###.####.",
      ".###.####.",
      ".###.####.",
      "..........",
    ],
  },
  {
    name: "shallow slopes",
    width: 16,
    height: 6,
    polygon: [0, 1, 15, 2, 14, 5, 1, 4],
    rows: [
      "................",
      "########........",
      "################",
      ".###############",
      ".##############.",
      "........#######.",
    ],
  },
];

for (const c of OPENCV_CASES) {
  Deno.test(`fillPoly matches OpenCV: ${c.name}`, () => {
    const img = { width: c.width, height: c.height, data: new Uint8Array(c.width * c.height) };
    fillPoly(img, [c.polygon], 1);
    const rows = Array.from(
      { length: c.height },
      (_, y) => [...img.data.subarray(y * c.width, (y + 1) * c.width)].map((v) => (v ? "#" : ".")).join(""),
    );
    assert.deepEqual(rows, c.rows);
  });
}

Deno.test("fillPoly fills an axis-aligned rectangle including its border, and nothing else", () => {
  const img = { width: 20, height: 15, data: new Uint8Array(300) };
  fillPoly(img, [[3, 2, 12, 2, 12, 9, 3, 9]], 7);
  for (let y = 0; y < 15; y++) {
    for (let x = 0; x < 20; x++) {
      const inside = x >= 3 && x <= 12 && y >= 2 && y <= 9;
      assert.equal(img.data[y * 20 + x], inside ? 7 : 0, `pixel (${x}, ${y})`);
    }
  }
});

Deno.test("fillPoly: a polygon wholly outside leaves the image untouched; degenerate input is fine", () => {
  const img = { width: 8, height: 8, data: new Uint8Array(64) };
  fillPoly(img, [[20, 20, 30, 20, 30, 30]], 1);
  fillPoly(img, [[], [2, 2]], 1);
  assert.equal(img.data.reduce((a, v) => a + v, 0), 1); // the single point is drawn as a line of one pixel
  assert.equal(img.data[2 * 8 + 2], 1);
});
