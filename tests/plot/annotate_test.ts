import assert from "node:assert/strict";
import { decodeImage } from "../../src/io/image.ts";
import { defaultLineWidth } from "../../src/plot/annotate.ts";
import { encodeImage, formatOf, saveImage } from "../../src/plot/encode.ts";
import { Result } from "../../src/results.ts";

/** A 64x48 gray image with one "person" box and its mask at the 64x64 letterbox (8 rows of padding). */
function fakeResult(): { result: Result; image: { width: number; height: number; data: Uint8Array } } {
  const image = { width: 64, height: 48, data: new Uint8Array(64 * 48 * 3).fill(90) };
  const mask = new Uint8Array(64 * 64);
  for (let y = 8 + 20; y < 8 + 30; y++) for (let x = 30; x < 40; x++) mask[y * 64 + x] = 1;
  const result = new Result({
    file: "fake.png",
    origShape: [48, 64],
    letterboxShape: [64, 64],
    boxes: {
      xyxy: Float32Array.from([28, 18, 42, 32]),
      conf: Float32Array.from([0.875]),
      cls: Int32Array.from([0]),
    },
    masks: { data: mask, shape: [1, 64, 64], xy: [] },
    names: { 0: "person" },
    speed: { preprocess: 0, inference: 0, postprocess: 0 },
  });
  return { result, image };
}

const px = (
  img: { width: number; data: Uint8Array },
  x: number,
  y: number,
) => [...img.data.subarray(3 * (y * img.width + x), 3 * (y * img.width + x) + 3)];

Deno.test("defaultLineWidth is Ultralytics' max(round(sum(h, w, 3) / 2 * 0.003), 2)", () => {
  assert.equal(defaultLineWidth(1080, 810), 3); // bus.jpg
  assert.equal(defaultLineWidth(48, 64), 2);
  assert.equal(defaultLineWidth(1997, 2000), 6); // (3997 + 3) / 2 * 0.003 = 6.0 exactly
  assert.equal(defaultLineWidth(1664, 1664), 5); // 3331 / 2 * 0.003 = 4.9965
});

Deno.test("plot() blends the mask inside it, leaves the rest, draws box and label", () => {
  const { result, image } = fakeResult();
  const out = result.plot(image);
  assert.equal(out.width, 64);
  assert.equal(out.height, 48);
  assert.notEqual(out.data, image.data);
  assert.ok(image.data.every((v) => v === 90), "the input image was changed");
  // inside the mask, away from the box outline: (90 + color) / 2 with class 0 = (4, 42, 255)
  assert.deepEqual(px(out, 35, 25), [47, 66, 172]);
  // outside the mask and the box
  assert.deepEqual(px(out, 5, 45), [90, 90, 90]);
  assert.deepEqual(px(out, 60, 40), [90, 90, 90]);
  // the box outline (line width 2) in the class color
  assert.deepEqual(px(out, 28, 25), [4, 42, 255]);
  assert.deepEqual(px(out, 42, 25), [4, 42, 255]);
  // without boxes only the mask changes pixels
  const bare = result.plot(image, { show_boxes: false });
  let changed = 0;
  for (let y = 0; y < 48; y++) {
    for (let x = 0; x < 64; x++) {
      const inMask = x >= 30 && x < 40 && y >= 20 && y < 30;
      const same = px(bare, x, y).every((v) => v === 90);
      assert.equal(same, !inMask, `pixel ${x},${y}`);
      if (!same) changed++;
    }
  }
  assert.equal(changed, 100);
  assert.throws(() => result.plot({ width: 10, height: 10, data: new Uint8Array(300) }), RangeError);
});

Deno.test("an annotated PNG survives encode and decode exactly; JPEG decodes to the same size", async () => {
  const { result, image } = fakeResult();
  const out = result.plot(image);
  const png = await encodeImage(out, "png");
  const back = await decodeImage(png, "fake.png");
  assert.equal(back.width, 64);
  assert.equal(back.height, 48);
  assert.deepEqual(back.data, out.data);
  const jpg = await decodeImage(await encodeImage(out, "jpeg"), "fake.jpg");
  assert.deepEqual([jpg.width, jpg.height], [64, 48]);
  assert.equal(formatOf("a/b.PNG"), "png");
  assert.equal(formatOf("image0.jpg"), "jpeg");
});

Deno.test("save() writes the file atomically, leaving no temporary behind", async () => {
  const { result, image } = fakeResult();
  const dir = await Deno.makeTempDir();
  try {
    await result.save(`${dir}/fake.png`, image);
    const names = [...Deno.readDirSync(dir)].map((e) => e.name);
    assert.deepEqual(names, ["fake.png"]);
    const back = await decodeImage(await Deno.readFile(`${dir}/fake.png`));
    assert.deepEqual(back.data, result.plot(image).data);
    await saveImage(`${dir}/x.jpg`, image);
    assert.equal((await Deno.readFile(`${dir}/x.jpg`))[0], 0xff);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
