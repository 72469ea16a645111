/**
 * The server's page in headless Chromium (driven over the DevTools protocol): pick bus.jpg in the file
 * input, wait until the page has drawn the answer, screenshot it (kept in a temporary folder), and check
 * the screenshot: a PNG whose canvas shows the photo, with the pixels under a mask blended toward that
 * class's palette color (alpha 128/255) rather than the bare photo.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { type ResultJson, serve, YOLO } from "../../mod.ts";
import { decodeImage } from "../../src/io/image.ts";
import { classColor } from "../../src/plot/colors.ts";
import { decodeRle } from "../../src/postprocess/rle.ts";
import { Chromium } from "./_cdp.ts";
import { IMAGE_FILES, MODEL } from "./_serve.ts";

Deno.test("serve page: choosing an image draws it with its masks and boxes (headless Chromium)", async () => {
  const model = await YOLO.load(MODEL);
  await using server = serve(model, { port: 0, imgsz: 128 });
  const browser = await Chromium.launch(1000, 1400);
  const dir = await Deno.makeTempDir({ prefix: "yolo-wgsl-page-" });
  try {
    await browser.goto(server.url);
    assert.equal(await browser.evaluate("document.body.dataset.state"), "idle");
    // The reference model is weak at 128 px: ask for its low-confidence detections.
    await browser.evaluate(`document.getElementById("conf").value = "0.01"`);
    await browser.setFiles("#file", [IMAGE_FILES[0]]); // bus.jpg
    const state = await browser.waitFor<string>(
      `["done", "error"].includes(document.body.dataset.state) && document.body.dataset.state`,
    );
    const status = await browser.evaluate<string>(`document.getElementById("status").textContent`);
    assert.equal(state, "done", status);
    const r = await browser.evaluate<ResultJson>("window.lastResult");
    assert.ok(r.masks.length > 0, `no masks to draw: ${status}`);
    const rect = await browser.evaluate<{ x: number; y: number; width: number; height: number }>(
      `(({ x, y, width, height }) => ({ x, y, width, height }))(document.getElementById("canvas").getBoundingClientRect())`,
    );
    const png = await browser.screenshot();
    const file = join(dir, "page.png");
    await Deno.writeFile(file, png);
    console.log(`screenshot: ${file}; ${r.cls.length} detections; ${status}`);

    const shot = await decodeImage(png, file);
    assert.deepEqual([shot.width, shot.height], [1000, 1400]);
    const photo = await decodeImage(await Deno.readFile(IMAGE_FILES[0]));
    const [h, w] = r.orig_shape;
    assert.deepEqual([photo.height, photo.width], [h, w]);
    assert.ok(Math.abs(rect.width - w) < 1 && rect.y + rect.height <= shot.height, "the canvas is on screen");
    const at = (img: typeof shot, x: number, y: number) =>
      img.data.subarray(3 * (y * img.width + x), 3 * (y * img.width + x) + 3);
    const dist = (a: ArrayLike<number>, b: ArrayLike<number>) =>
      Math.max(Math.abs(a[0] - b[0]), Math.abs(a[1] - b[1]), Math.abs(a[2] - b[2]));

    // The canvas shows the photo: outside every mask and box, screen pixels are the image's.
    // Inside masks (away from their edges, which scaling smooths), they are the photo blended with the
    // masks' colors.
    const masks = r.masks.map(decodeRle);
    const [mh, mw] = r.masks[0].size;
    const gain = Math.min(mh / h, mw / w);
    const left = (mw - Math.round(w * gain)) / 2, top = (mh - Math.round(h * gain)) / 2;
    const cover = (ox: number, oy: number) => {
      const mx = Math.floor((ox + 0.5) * gain + left), my = Math.floor((oy + 0.5) * gain + top);
      // 1: inside, 0: outside, 0.5: at an edge (the 3x3 neighbourhood is mixed).
      return masks.map((m) => {
        let set = 0;
        for (let dy = -1; dy <= 1; dy++) {
          for (let dx = -1; dx <= 1; dx++) {
            const x = Math.min(mw - 1, Math.max(0, mx + dx)), y = Math.min(mh - 1, Math.max(0, my + dy));
            set += m[y * mw + x];
          }
        }
        return set === 9 ? 1 : set === 0 ? 0 : 0.5;
      });
    };
    const inBox = (ox: number, oy: number) =>
      r.boxes_xyxy.some(([x1, y1, x2, y2]) =>
        ox >= x1 - 40 && ox <= x2 + 40 && oy >= y1 - 40 && oy <= y2 + 10
      );
    const a = 128 / 255;
    /** The photo with every mask covering the pixel blended on, in drawing order. */
    const composite = (orig: ArrayLike<number>, c: number[]) =>
      c.reduce(
        (px, v, i) => v === 1 ? px.map((p, k) => p * (1 - a) + classColor(r.cls[i])[k] * a) : px,
        [orig[0], orig[1], orig[2]],
      );
    let masked = 0, blended = 0, plain = 0, photoLike = 0;
    for (let oy = 2; oy < h - 2; oy += 3) {
      for (let ox = 2; ox < w - 2; ox += 3) {
        const c = cover(ox, oy);
        if (c.includes(0.5)) continue; // a mask edge: smoothed when scaled
        const screen = at(shot, Math.floor(rect.x + ox), Math.floor(rect.y + oy));
        const orig = at(photo, ox, oy);
        if (c.includes(1)) {
          masked++;
          const want = composite(orig, c);
          if (dist(screen, want) <= 16 && dist(screen, want) < dist(screen, orig)) blended++;
        } else if (!inBox(ox, oy)) {
          plain++;
          if (dist(screen, orig) <= 16) photoLike++;
        }
      }
    }
    console.log(
      `${blended}/${masked} sampled pixels under masks carry their colors; ` +
        `${photoLike}/${plain} sampled pixels away from masks and boxes show the photo`,
    );
    assert.ok(masked > 100, `the masks cover too little to check (${masked} samples)`);
    assert.ok(blended / masked > 0.8, `${blended}/${masked} mask pixels carry the mask color`);
    assert.ok(plain > 1000 && photoLike / plain > 0.9, `${photoLike}/${plain} plain pixels are the photo`);
  } finally {
    await browser.close();
    model.dispose();
  }
});
