/**
 * Split images and their labels as Ultralytics 8.3.x reads them: image listing (folders, lists, globs),
 * `img2label_paths`, `verify_image_label`'s checks on label text, and a whole split scan with every kind of
 * background and corrupt file, its summary line, and the label cache.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { imageFiles, labelPathFor, readImageHeader } from "../../src/data/image_files.ts";
import { loadLabels, verifyLabelText } from "../../src/data/labels.ts";
import { captureLogs, jpeg, png, withOrientation, writeTree } from "./_dataset_files.ts";

const f = Math.fround;

Deno.test("labelPathFor swaps the last /images/ for /labels/ and the extension for .txt", () => {
  assert.equal(labelPathFor("/d/images/val/a.jpg"), "/d/labels/val/a.txt");
  assert.equal(labelPathFor("/images/x/images/val/a.b.PNG"), "/images/x/labels/val/a.b.txt");
  assert.equal(labelPathFor("/d/imgs/a.jpg"), "/d/imgs/a.txt");
  // No extension: Ultralytics cuts at the path's last dot even when it is a folder's.
  assert.equal(labelPathFor("/d.v2/images/a"), "/d.txt");
});

Deno.test("imageFiles lists folders recursively, .txt lists and globs, sorted, images only", async () => {
  const root = await Deno.makeTempDir();
  try {
    await writeTree(root, {
      "images/b.jpg": "",
      "images/a.PNG": "",
      "images/sub/c.jpeg": "",
      "images/sub/deeper/d.webp": "",
      "images/.hidden.jpg": "",
      "images/.cache/e.jpg": "",
      "images/notes.txt": "",
      "images/noext": "",
      "list/split.txt": "./../images/b.jpg\n\n  ./../images/sub/c.jpeg  \n" + `${root}/images/a.PNG\n`,
    });
    assert.deepEqual(await imageFiles(join(root, "images")), [
      `${root}/images/a.PNG`,
      `${root}/images/b.jpg`,
      `${root}/images/sub/c.jpeg`,
      `${root}/images/sub/deeper/d.webp`,
    ]);
    assert.deepEqual(await imageFiles(join(root, "list/split.txt")), [
      `${root}/images/a.PNG`,
      `${root}/images/b.jpg`,
      `${root}/images/sub/c.jpeg`,
    ]);
    assert.deepEqual(await imageFiles(`${root}/images/**/*.jp*g`), [
      `${root}/images/b.jpg`,
      `${root}/images/sub/c.jpeg`,
    ]);
    assert.deepEqual(await imageFiles([join(root, "images/sub"), join(root, "images/b.jpg")]), [
      `${root}/images/b.jpg`,
      `${root}/images/sub/c.jpeg`,
      `${root}/images/sub/deeper/d.webp`,
    ]);
    await assert.rejects(imageFiles(join(root, "nope")), {
      name: "DatasetError",
      message: `Cannot load images from "${root}/nope": no such file or directory`,
    });
    await Deno.mkdir(join(root, "empty"));
    await assert.rejects(imageFiles(join(root, "empty")), {
      name: "DatasetError",
      message: /^No images found in/,
    });
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("verifyLabelText: box rows are kept as float32", () => {
  const v = verifyLabelText("0 0.5 0.5 0.2 0.2\n7 0.1 0.3 0.1 0.05\n", 80);
  assert.deepEqual(v.rows, [[0, 0.5, 0.5, f(0.2), f(0.2)], [7, f(0.1), f(0.3), f(0.1), f(0.05)]]);
  assert.deepEqual(v.segments, []);
  assert.equal(v.duplicates, 0);
});

Deno.test("verifyLabelText: polygons give their extent as the box (segments2boxes, float32)", () => {
  const v = verifyLabelText("3 0.1 0.2 0.5 0.2 0.3 0.6\n", 80);
  // x in {0.1, 0.5, 0.3}, y in {0.2, 0.2, 0.6}: box x1=0.1 x2=0.5 y1=0.2 y2=0.6.
  assert.deepEqual(v.rows, [[
    3,
    f(f(0.1) + f(0.5)) / 2,
    f(f(0.2) + f(0.6)) / 2,
    f(f(0.5) - f(0.1)),
    f(f(0.6) - f(0.2)),
  ]]);
  assert.deepEqual(v.segments, [[0.1, 0.2, 0.5, 0.2, 0.3, 0.6].map(f)]);
});

Deno.test("verifyLabelText: in a polygon file a 5-column row is a two-point polygon", () => {
  const v = verifyLabelText("0 0.1 0.1 0.2 0.1 0.2 0.2 0.1 0.2\n1 0.5 0.5 0.1 0.1\n", 80);
  assert.equal(v.segments.length, 2);
  assert.deepEqual(v.segments[1], [0.5, 0.5, 0.1, 0.1].map(f));
  // points (0.5, 0.5) and (0.1, 0.1): box from 0.1 to 0.5 on both axes
  assert.deepEqual(v.rows[1], [
    1,
    f(f(0.1) + f(0.5)) / 2,
    f(f(0.1) + f(0.5)) / 2,
    f(f(0.5) - f(0.1)),
    f(f(0.5) - f(0.1)),
  ]);
});

Deno.test("verifyLabelText: each kind of corrupt label file", () => {
  const bad = (text: string, re: RegExp, nc = 80) => assert.throws(() => verifyLabelText(text, nc), re);
  bad("0 0.1 0.1 0.2 0.1 0.2 0.2 0.1\n", /odd number of polygon coordinates \(7\)/);
  bad("0 0.5 0.5 0.2 0.2 0.9\n", /^Error: labels require 5 columns, 6 columns detected$/);
  bad("0 0.5 0.5 0.2\n", /labels require 5 columns, 4 columns detected/);
  bad("0 0.5 0.5 0.2 0.2\n1 0.5 0.5 0.2\n", /different numbers of columns/);
  bad("0 0.5 0.5 1.02 0.2\n", /non-normalized or out of bounds coordinates \[1\.02\]/);
  bad("0 0.5 -0.02 0.2 0.2\n", /negative class labels or coordinate \[-0\.02\]/);
  bad("-1 0.5 0.5 0.2 0.2\n", /negative class labels or coordinate \[-1\]/);
  bad(
    "80 0.5 0.5 0.2 0.2\n3 0.5 0.5 0.2 0.2\n",
    /Label class 80 exceeds dataset class count 80\. Possible class labels are 0-79/,
  );
  bad(
    "2 0.5 0.5 0.2 0.2\n",
    /Label class 2 exceeds dataset class count 2\. Possible class labels are 0-1/,
    2,
  );
  bad("0 0.5 0.5 abc 0.2\n", /could not convert string to float: 'abc'/);
  bad("0 0.5 nan 0.2 0.2\n", /non-normalized or out of bounds coordinates \[\]/);
  // Ultralytics' 1% tolerance, and single_cls skipping the class range
  assert.equal(verifyLabelText("0 0.5 0.5 1.01 0.2\n0 0.5 0.5 0.2 -0.01\n", 80).rows.length, 2);
  assert.equal(verifyLabelText("5 0.5 0.5 0.2 0.2\n", 1, true).rows.length, 1);
});

Deno.test("verifyLabelText: duplicate rows are removed, the rest left in sorted order as np.unique does", () => {
  const v = verifyLabelText(
    "1 0.5 0.5 0.1 0.1\n0 0.2 0.2 0.1 0.1\n1 0.5 0.5 0.1 0.1\n1 0.5 0.5 0.1 0.1\n",
    80,
  );
  assert.equal(v.duplicates, 2);
  assert.deepEqual(v.rows.map((r) => r[0]), [0, 1]);
  const s = verifyLabelText(
    "2 0.1 0.1 0.3 0.1 0.3 0.3\n2 0.1 0.1 0.3 0.1 0.3 0.3\n0 0.5 0.5 0.6 0.6 0.5 0.6\n",
    80,
  );
  assert.equal(s.duplicates, 1);
  assert.deepEqual(s.rows.map((r) => r[0]), [0, 2]);
  assert.deepEqual(s.segments[0], [0.5, 0.5, 0.6, 0.6, 0.5, 0.6].map(f)); // segments follow their rows
});

Deno.test("verifyLabelText: blank files are empty", () => {
  assert.equal(verifyLabelText("", 80).rows.length, 0);
  assert.equal(verifyLabelText("  \n\n \t\n", 80).rows.length, 0);
});

Deno.test("readImageHeader: JPEG and PNG sizes, EXIF 6/8 swap the sides, broken files say why", async () => {
  const root = await Deno.makeTempDir();
  try {
    const j = await jpeg(24, 16);
    await writeTree(root, {
      "a.jpg": j,
      "r6.jpg": withOrientation(j, 6),
      "r8.jpg": withOrientation(j, 8),
      "r3.jpg": withOrientation(j, 3),
      "r5.jpg": withOrientation(j, 5), // a transpose, but Ultralytics' exif_size swaps only for 6 and 8
      "cut.jpg": j.subarray(0, j.length - 40),
      // a 30 kB APP2 segment before the frame header: more than the first read of the file
      "big.jpg": new Uint8Array([
        ...j.subarray(0, 2),
        0xff,
        0xe2,
        30000 >> 8,
        30000 & 255,
        ...new Uint8Array(29998),
        ...j.subarray(2),
      ]),
      "b.png": await png(30, 12),
      "bad.png": (await png(30, 12)).map((v, i) => (i === 40 ? v ^ 1 : v)),
      "small.jpg": await jpeg(9, 40),
      "text.jpg": "hello",
      "g.gif": "GIF89a......",
    });
    const hw = async (name: string) => {
      const h = await readImageHeader(join(root, name));
      return [h.format, h.height, h.width, h.truncated];
    };
    assert.deepEqual(await hw("a.jpg"), ["JPEG", 16, 24, false]);
    assert.deepEqual(await hw("r6.jpg"), ["JPEG", 24, 16, false]);
    assert.deepEqual(await hw("r8.jpg"), ["JPEG", 24, 16, false]);
    assert.deepEqual(await hw("r3.jpg"), ["JPEG", 16, 24, false]);
    assert.deepEqual(await hw("r5.jpg"), ["JPEG", 16, 24, false]);
    assert.deepEqual(await hw("cut.jpg"), ["JPEG", 16, 24, true]);
    assert.deepEqual(await hw("big.jpg"), ["JPEG", 16, 24, false]);
    assert.deepEqual(await hw("b.png"), ["PNG", 12, 30, false]);
    await assert.rejects(readImageHeader(join(root, "bad.png")), /broken PNG file \(bad checksum in/);
    await assert.rejects(
      readImageHeader(join(root, "small.jpg")),
      /^Error: image size \(40, 9\) <10 pixels$/,
    );
    await assert.rejects(readImageHeader(join(root, "text.jpg")), /cannot identify image file/);
    await assert.rejects(readImageHeader(join(root, "g.gif")), /invalid image format GIF/);
    await assert.rejects(readImageHeader(join(root, "none.jpg")), /image file not found/);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

/** A split with one image of every kind; returns its root and image list. */
async function makeSplit(): Promise<{ root: string; images: string[] }> {
  const root = await Deno.makeTempDir();
  const j = await jpeg(20, 12);
  await writeTree(root, {
    "images/val/a.jpg": j, // two polygons
    "labels/val/a.txt": "0 0.1 0.1 0.5 0.1 0.5 0.5\n5 0.6 0.6 0.9 0.6 0.9 0.9 0.6 0.9\n",
    "images/val/b.jpg": j, // a duplicated polygon
    "labels/val/b.txt": "2 0.1 0.1 0.3 0.1 0.3 0.3\n2 0.1 0.1 0.3 0.1 0.3 0.3\n1 0.5 0.5 0.7 0.5 0.7 0.8\n",
    "images/val/c.jpg": j, // empty label file
    "labels/val/c.txt": "",
    "images/val/d.jpg": j, // no label file
    "images/val/e.jpg": j, // class out of range
    "labels/val/e.txt": "80 0.1 0.1 0.3 0.1 0.3 0.3\n",
    "images/val/f.png": await png(16, 14), // one polygon
    "labels/val/f.txt": "79 0.2 0.2 0.8 0.2 0.8 0.8 0.2 0.8\n",
    "images/val/g.jpg": "not an image", // unreadable image
    "labels/val/g.txt": "0 0.1 0.1 0.5 0.1 0.5 0.5\n",
    "images/val/h.jpg": withOrientation(j, 6), // rotated: shape [20, 12]
    "labels/val/h.txt": "3 0.1 0.1 0.5 0.1 0.5 0.5\n",
    "images/val/tiny.jpg": await jpeg(8, 8), // too small
    "labels/val/tiny.txt": "0 0.1 0.1 0.5 0.1 0.5 0.5\n",
  });
  return { root, images: await imageFiles(join(root, "images/val")) };
}

Deno.test("loadLabels scans a split: backgrounds kept, corrupt images left out with a message, one summary line", async () => {
  const { root, images } = await makeSplit();
  try {
    assert.equal(images.length, 9);
    const { result, out, err } = await captureLogs(() =>
      loadLabels(images, 80, { prefix: "val: ", cache: false })
    );
    const { labels, summary } = result;
    // Label files found: a b c e f h (e's is corrupt; g's and tiny's are never read, their images fail first).
    assert.deepEqual(
      { found: summary.found, missing: summary.missing, empty: summary.empty, corrupt: summary.corrupt },
      { found: 6, missing: 1, empty: 1, corrupt: 3 },
    );
    assert.equal(summary.total, 9);
    assert.deepEqual(labels.map((l) => l.im_file.split("/").pop()), [
      "a.jpg",
      "b.jpg",
      "c.jpg",
      "d.jpg",
      "f.png",
      "h.jpg",
    ]);
    assert.equal(summary.instances, 2 + 2 + 0 + 0 + 1 + 1);
    const byName = Object.fromEntries(labels.map((l) => [l.im_file.split("/").pop(), l]));
    assert.deepEqual(byName["a.jpg"].shape, [12, 20]);
    assert.deepEqual(byName["f.png"].shape, [14, 16]);
    assert.deepEqual(byName["h.jpg"].shape, [20, 12]);
    assert.deepEqual(byName["b.jpg"].cls, [1, 2]);
    assert.deepEqual(byName["a.jpg"].cls, [0, 5]);
    assert.deepEqual(byName["f.png"].segments, [[0.2, 0.2, 0.8, 0.2, 0.8, 0.8, 0.2, 0.8].map(f)]);
    assert.deepEqual(byName["c.jpg"].bboxes, []);
    assert.deepEqual(byName["d.jpg"].segments, []);
    assert.ok(labels.every((l) => l.normalized && l.bbox_format === "xywh"));

    assert.deepEqual(out, [`val: Scanning ${root}/labels/val... 6 images, 2 backgrounds, 3 corrupt`]);
    assert.deepEqual(summary.messages, [
      `val: ${root}/images/val/b.jpg: 1 duplicate labels removed`,
      `val: ${root}/images/val/e.jpg: ignoring corrupt image/label: Label class 80 exceeds dataset class count 80. ` +
      "Possible class labels are 0-79",
      `val: ${root}/images/val/g.jpg: ignoring corrupt image/label: cannot identify image file '${root}/images/val/g.jpg'`,
      `val: ${root}/images/val/tiny.jpg: ignoring corrupt image/label: image size (8, 8) <10 pixels`,
    ]);
    assert.deepEqual(err, summary.messages.map((m) => `WARNING ⚠️ ${m}`));
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("loadLabels: the cache is used on the second run and a changed label file invalidates it", async () => {
  const { root, images } = await makeSplit();
  const cacheFile = `${root}/labels/val.yolo-wgsl.cache`;
  try {
    const first = await captureLogs(() => loadLabels(images, 80));
    assert.equal(first.result.fromCache, false);
    assert.equal(first.result.cacheFile, cacheFile);
    assert.ok(first.out.includes(`New cache created: ${cacheFile}`));

    // Prove the second run reads the cache, not the label files: mark the cached labels.
    const cache = JSON.parse(await Deno.readTextFile(cacheFile));
    cache.labels[0].cls = [42, 42];
    await Deno.writeTextFile(cacheFile, JSON.stringify(cache));
    const second = await captureLogs(() => loadLabels(images, 80));
    assert.equal(second.result.fromCache, true);
    assert.deepEqual(second.result.labels[0].cls, [42, 42]);
    assert.deepEqual(second.result.summary, first.result.summary);
    assert.equal(second.out[0], `Scanning ${cacheFile}... 6 images, 2 backgrounds, 3 corrupt`);
    assert.equal(second.err.length, 4); // the messages are replayed

    // A different class count is a different scan (e is no longer corrupt with nc=81).
    const wider = await captureLogs(() => loadLabels(images, 81, { verbose: false }));
    assert.equal(wider.result.fromCache, false);
    assert.equal(wider.result.summary.corrupt, 2);

    await Deno.writeTextFile(join(root, "labels/val/a.txt"), "7 0.1 0.1 0.5 0.1 0.5 0.5\n");
    const third = await loadLabels(images, 80, { verbose: false });
    assert.equal(third.fromCache, false);
    assert.deepEqual(third.labels[0].cls, [7]);
    assert.equal((await loadLabels(images, 80, { verbose: false })).fromCache, true);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("loadLabels: an unwritable cache location is a warning, and the labels still come back", async () => {
  const { root, images } = await makeSplit();
  try {
    await Deno.mkdir(`${root}/labels/val.yolo-wgsl.cache`); // a folder where the cache file would go
    const { result, err } = await captureLogs(() => loadLabels(images, 80));
    assert.equal(result.labels.length, 6);
    assert.ok(err.includes(`WARNING ⚠️ Cache directory ${root}/labels is not writeable, cache not saved.`));
    assert.deepEqual([...Deno.readDirSync(`${root}/labels`)].map((e) => e.name).sort(), [
      "val",
      "val.yolo-wgsl.cache",
    ]);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("loadLabels: a read-only labels folder is not written, even by root", async () => {
  const { root, images } = await makeSplit();
  try {
    await Deno.chmod(`${root}/labels`, 0o555);
    const { result, err } = await captureLogs(() => loadLabels(images, 80));
    assert.equal(result.labels.length, 6);
    assert.ok(err.includes(`WARNING ⚠️ Cache directory ${root}/labels is not writeable, cache not saved.`));
    assert.deepEqual([...Deno.readDirSync(`${root}/labels`)].map((e) => e.name), ["val"]);
  } finally {
    await Deno.chmod(`${root}/labels`, 0o755);
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("loadLabels: a split of boxes and polygons keeps only the boxes, with a warning", async () => {
  const root = await Deno.makeTempDir();
  try {
    const j = await jpeg(16, 16);
    await writeTree(root, {
      "images/a.jpg": j,
      "labels/a.txt": "0 0.1 0.1 0.5 0.1 0.5 0.5\n",
      "images/b.jpg": j,
      "labels/b.txt": "1 0.5 0.5 0.2 0.2\n",
    });
    const images = await imageFiles(join(root, "images"));
    const { result, err } = await captureLogs(() => loadLabels(images, 80, { cache: false }));
    assert.deepEqual(result.labels.map((l) => l.segments.length), [0, 0]);
    assert.deepEqual(result.labels.map((l) => l.cls), [[0], [1]]);
    assert.ok(err.some((l) => l.includes("Box and segment counts should be equal")));
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("loadLabels: no usable image is an error", async () => {
  const root = await Deno.makeTempDir();
  try {
    await writeTree(root, { "images/a.jpg": "x", "labels/a.txt": "0 0.5 0.5 0.1 0.1\n" });
    await assert.rejects(loadLabels([join(root, "images/a.jpg")], 80, { verbose: false, cache: false }), {
      name: "DatasetError",
      message: /^No valid images found for ".*\/labels"/,
    });
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
