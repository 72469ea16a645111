import assert from "node:assert/strict";
import { drawText, FIRST_CHAR, glyph, LAST_CHAR, textSize } from "../../src/plot/font.ts";

Deno.test("the glyph table covers printable ASCII, each glyph inside 5x7", () => {
  const seen = new Set<string>();
  for (let c = FIRST_CHAR; c <= LAST_CHAR; c++) {
    const g = glyph(String.fromCharCode(c));
    assert.equal(g.length, 5);
    assert.ok(g.every((col) => col < 128), `glyph ${c} uses row 7`);
    if (c !== 32) assert.ok(g.some((col) => col !== 0), `glyph ${c} is blank`);
    seen.add(g.join(","));
  }
  assert.equal(seen.size, LAST_CHAR - FIRST_CHAR + 1, "two characters share a glyph");
  assert.deepEqual(glyph("é"), glyph("?"));
});

Deno.test("drawText renders 'A' to its hand-derived pixels, scaled by an integer", () => {
  const expected = [
    ".###.",
    "#...#",
    "#...#",
    "#...#",
    "#####",
    "#...#",
    "#...#",
  ];
  const img = { width: 7, height: 9, data: new Uint8Array(7 * 9 * 3) };
  drawText(img, "A", 1, 1, [255, 0, 0]);
  for (let y = 0; y < 9; y++) {
    for (let x = 0; x < 7; x++) {
      const on = expected[y - 1]?.[x - 1] === "#";
      assert.deepEqual(
        [...img.data.subarray(3 * (y * 7 + x), 3 * (y * 7 + x) + 3)],
        on ? [255, 0, 0] : [0, 0, 0],
      );
    }
  }
  const big = { width: 10, height: 14, data: new Uint8Array(10 * 14 * 3) };
  drawText(big, "A", 0, 0, [9, 9, 9], 2);
  const px = (x: number, y: number) => big.data[3 * (y * 10 + x)];
  assert.equal(px(0, 0), 0); // the top-left corner of 'A' is blank
  assert.equal(px(2, 0), 9); // font pixel (1, 0) covers x 2..3, y 0..1
  assert.equal(px(3, 1), 9);
  assert.equal(px(0, 13), 9); // bottom-left leg
  assert.deepEqual(textSize("Ab 1", 2), [(4 * 6 - 1) * 2, 14]);
});
