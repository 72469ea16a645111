/** The tuner's synthetic input: deterministic, in [0, 1], image-like (border, edges, spread) and per image. */
import assert from "node:assert/strict";
import { tuneImage } from "../../src/gpu/autotune.ts";

Deno.test("tuneImage is a deterministic batch of distinct image-like planes in [0, 1] with a grey border", () => {
  const [n, h, w] = [2, 64, 96];
  const a = tuneImage(n, h, w);
  assert.equal(a.length, n * 3 * h * w);
  assert.deepEqual(a, tuneImage(n, h, w));
  const plane = h * w;
  const grey = Math.fround(114 / 255);
  for (let p = 0; p < n * 3; p++) {
    const v = a.subarray(p * plane, (p + 1) * plane);
    assert.equal(v[0], grey, "top border");
    assert.equal(v[plane - 1], grey, "bottom border");
    const inner = v.subarray(Math.floor(h / 10) * w, (h - Math.floor(h / 10)) * w);
    let min = 1, max = 0, sum = 0, sq = 0, jumps = 0;
    for (let i = 0; i < inner.length; i++) {
      min = Math.min(min, inner[i]);
      max = Math.max(max, inner[i]);
      sum += inner[i];
      sq += inner[i] * inner[i];
      if (i % w > 0 && Math.abs(inner[i] - inner[i - 1]) > 0.1) jumps++;
    }
    const mean = sum / inner.length, sd = Math.sqrt(sq / inner.length - mean * mean);
    assert.ok(min >= 0 && max <= 1, `plane ${p} in [0, 1]: ${min}..${max}`);
    assert.ok(mean > 0.3 && mean < 0.7 && sd > 0.08, `plane ${p}: mean ${mean}, sd ${sd}`);
    assert.ok(jumps > inner.length / 100, `plane ${p} has edges: ${jumps}`);
  }
  const first = a.subarray(0, 3 * plane), second = a.subarray(3 * plane);
  assert.ok(first.some((v, i) => v !== second[i]), "the images of a batch differ");
});
