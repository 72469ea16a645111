/**
 * COCO instances JSON → YOLO labels as Ultralytics' `convert_coco(use_segments=True, cls91to80=True)`:
 * a hand-made JSON of four images (polygons, a two-polygon instance, crowd RLE, a duplicate, a zero-width
 * box, an id with no 80-class id, an empty segmentation, a non-crowd RLE, a missing image), every
 * expected line worked out by hand in the comments, then the files, the CLI mode and a label scan of them.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import {
  coco91ToCoco80Class,
  type CocoJson,
  cocoToYolo,
  convertCoco,
  formatG,
  mergeMultiSegment,
} from "../../src/data/coco_convert.ts";
import { imageFiles } from "../../src/data/image_files.ts";
import { loadLabels } from "../../src/data/labels.ts";
import { main } from "../../cli.ts";
import { captureLogs, jpeg, writeTree } from "./_dataset_files.ts";

Deno.test("formatG is Python's %g: 6 significant digits, half-even on the exact value, e-notation outside 1e-4..1e6", () => {
  const cases: [number, string][] = [
    [0.1, "0.1"],
    [1 / 3, "0.333333"],
    [1e-5, "1e-05"],
    [123456789, "1.23457e+08"],
    [100000, "100000"],
    [1000000, "1e+06"],
    [999999.5, "1e+06"],
    [0.0001, "0.0001"],
    [0.00001234, "1.234e-05"],
    [0.001953125, "0.00195312"], // an exact tie: the even digit stays
    [1234565, "1.23456e+06"],
    [0.9999995, "1"],
    [0.0078125, "0.0078125"],
    [-0.25, "-0.25"],
    [0, "0"],
    [79, "79"],
    [5e-324, "4.94066e-324"],
    [1.7976931348623157e308, "1.79769e+308"],
  ];
  for (const [v, s] of cases) assert.equal(formatG(v), s, String(v));
});

Deno.test("coco91ToCoco80Class: 80 classes over 91 ids, 11 unused", () => {
  const m = coco91ToCoco80Class();
  assert.equal(m.length, 91);
  assert.deepEqual([m[0], m[10], m[11], m[12], m[89], m[90]], [0, 10, null, 11, 79, null]);
  assert.deepEqual(m.filter((v) => v !== null), Array.from({ length: 80 }, (_, i) => i));
});

Deno.test("mergeMultiSegment joins polygons at their closest points (middle ones both ways)", () => {
  const flat = (segs: number[][]) => mergeMultiSegment(segs).flat();
  // Closest pair (1,0)-(3,0) (first of the ties), then (4,1)-(6,1): idx = [[1], [0, 2], [0]].
  assert.deepEqual(flat([[0, 0, 1, 0, 1, 1], [3, 0, 4, 0, 4, 1, 3, 1], [6, 1, 7, 1, 7, 2]]), [
    [1, 0],
    [1, 1],
    [0, 0],
    [1, 0], // first ring, rolled to its bridge point and closed
    [3, 0],
    [4, 0],
    [4, 1], // middle ring from entry 0 to exit 2
    [6, 1],
    [7, 1],
    [7, 2],
    [6, 1], // last ring, closed
    [4, 1],
    [3, 1],
    [3, 0], // back through the middle ring from index 2
  ]);
  // Middle ring entered at 2 and left at 0: it is reversed and rolled by the smaller index, as Ultralytics does.
  assert.deepEqual(flat([[5, 2, 6, 2, 6, 3], [3, 0, 4, 0, 4, 1, 3, 1], [1, -1, 2, -2, 0, -2]]), [
    [5, 2],
    [6, 2],
    [6, 3],
    [5, 2],
    [3, 1],
    [4, 1],
    [4, 0],
    [1, -1],
    [2, -2],
    [0, -2],
    [1, -1],
    [4, 0],
    [3, 0],
    [3, 1],
  ]);
});

/**
 * A 20x20 square at x 100..119, y 50..69 of a 100x200 (h x w) mask as COCO's column-major runs: 100 full
 * columns and 50 rows of 0s, then per column 20 ones and 80 zeros, the last column's ones followed by the
 * remaining 20000 - (10050 + 19 * 100 + 20) = 8030 zeros.
 */
const RECT_RLE = [10050, ...Array.from({ length: 19 }, () => [20, 80]).flat(), 20, 8030];

const COCO: CocoJson = {
  images: [
    { id: 1, file_name: "000000000001.jpg", width: 100, height: 50 },
    { id: 2, file_name: "000000000002.jpg", width: 200, height: 100 },
    { id: 3, file_name: "000000000003.jpg", width: 100, height: 100 },
    { id: 4, file_name: "000000000004.jpg", width: 100, height: 100 },
  ],
  annotations: [
    {
      id: 1,
      image_id: 1,
      category_id: 1,
      iscrowd: 0,
      bbox: [10, 5, 20, 10],
      segmentation: [[10, 5, 30, 5, 30, 15, 10, 15]],
    },
    {
      id: 2,
      image_id: 2,
      category_id: 90,
      iscrowd: 0,
      bbox: [33, 10, 66, 30],
      segmentation: [[33, 10, 99, 10, 66, 40]],
    },
    {
      id: 3,
      image_id: 1,
      category_id: 13,
      iscrowd: 0,
      bbox: [50, 10, 40, 20],
      segmentation: [[50, 10, 60, 10, 60, 20, 50, 20], [80, 20, 90, 20, 90, 30, 80, 30]],
    },
    {
      id: 4,
      image_id: 1,
      category_id: 1,
      iscrowd: 1,
      bbox: [0, 0, 10, 10],
      segmentation: { counts: [0, 10, 90], size: [50, 100] },
    },
    {
      id: 5,
      image_id: 1,
      category_id: 1,
      iscrowd: 0,
      bbox: [10, 5, 20, 10],
      segmentation: [[11, 6, 29, 6, 29, 14]],
    },
    {
      id: 6,
      image_id: 2,
      category_id: 3,
      iscrowd: 0,
      bbox: [10, 10, 0, 5],
      segmentation: [[10, 10, 10, 15, 10, 12]],
    },
    {
      id: 7,
      image_id: 2,
      category_id: 12,
      iscrowd: 0,
      bbox: [5, 5, 10, 10],
      segmentation: [[5, 5, 15, 5, 15, 15]],
    },
    { id: 8, image_id: 2, category_id: 2, iscrowd: 0, bbox: [20, 30, 40, 20], segmentation: [] },
    {
      id: 9,
      image_id: 3,
      category_id: 1,
      iscrowd: 1,
      bbox: [0, 0, 50, 50],
      segmentation: { counts: "abc", size: [100, 100] },
    },
    {
      id: 10,
      image_id: 2,
      category_id: 1,
      iscrowd: 0,
      bbox: [100, 50, 20, 20],
      segmentation: { counts: RECT_RLE, size: [100, 200] },
    },
    {
      id: 11,
      image_id: 2,
      category_id: 3,
      iscrowd: 0,
      bbox: [1, 1, 3, 3],
      segmentation: [[1, 0.001, 100.123456789, 1, 4, 4]],
    },
    { id: 12, image_id: 5, category_id: 1, iscrowd: 0, bbox: [1, 1, 2, 2], segmentation: [] },
  ],
};

// Image 1 (100 x 50):
//   ann 1, person (id 1 → 0): polygon / (100, 50) → 0.1 0.1 0.3 0.1 0.3 0.3 0.1 0.3
//   ann 3, stop sign (id 13 → 11): two squares; closest points (60,20)-(80,20); ring 1 rolled to (60,20)
//     and closed, ring 2 from (80,20) and closed → (60,20)(50,20)(50,10)(60,10)(60,20)(80,20)(90,20)(90,30)
//     (80,30)(80,20) / (100, 50)
//   ann 4 crowd: skipped; ann 5: same class and box as ann 1: skipped
// Image 2 (200 x 100):
//   ann 2, toothbrush (id 90 → 79): 33/200 10/100 99/200 10/100 66/200 40/100
//   ann 6: zero width, skipped; ann 7: id 12 has no 80-class id, skipped with a warning
//   ann 8, bicycle (id 2 → 1), empty segmentation → its box: (20+20)/200 (30+10)/100 40/200 20/100
//   ann 10, person (id 1 → 0): RLE without iscrowd → its contour as OpenCV traces it (CHAIN_APPROX_SIMPLE):
//     (100,50) (100,69) (119,69) (119,50) / (200, 100)
//   ann 11, car (id 3 → 2): 1/200 0.001/100 100.123456789/200 1/100 4/200 4/100, six digits
// Image 3: only a crowd annotation → an empty file. Image 4: no annotations → no file.
// ann 12: image 5 does not exist → a warning.
const EXPECTED_SEGMENTS = {
  "000000000001.txt": "0 0.1 0.1 0.3 0.1 0.3 0.3 0.1 0.3\n" +
    "11 0.6 0.4 0.5 0.4 0.5 0.2 0.6 0.2 0.6 0.4 0.8 0.4 0.9 0.4 0.9 0.6 0.8 0.6 0.8 0.4\n",
  "000000000002.txt":
    "79 0.165 0.1 0.495 0.1 0.33 0.4\n1 0.2 0.4 0.2 0.2\n0 0.5 0.5 0.5 0.69 0.595 0.69 0.595 0.5\n" +
    "2 0.005 1e-05 0.500617 0.01 0.02 0.04\n",
  "000000000003.txt": "",
};

Deno.test("cocoToYolo with polygons and the 91 → 80 mapping", () => {
  const { files, warnings } = cocoToYolo(COCO);
  assert.deepEqual(Object.fromEntries(files), EXPECTED_SEGMENTS);
  assert.deepEqual(warnings, [
    'annotation 7 of "000000000002.jpg": category_id 12 has no 80-class id, skipped',
    'image_id 5 is not in "images": its 1 annotations are skipped',
  ]);
});

Deno.test("cocoToYolo with boxes: centre xywh, normalized; RLE instances keep their box", () => {
  const { files, warnings } = cocoToYolo(COCO, { use_segments: false });
  assert.deepEqual(Object.fromEntries(files), {
    // ann 1: (10+10)/100 (5+5)/50 20/100 10/50; ann 3: (50+20)/100 (10+10)/50 40/100 20/50
    "000000000001.txt": "0 0.2 0.2 0.2 0.2\n11 0.7 0.4 0.4 0.4\n",
    // ann 2: (33+33)/200 (10+15)/100 66/200 30/100; ann 8 as above; ann 10: (100+10)/200 (50+10)/100 20/200
    // 20/100; ann 11: (1+1.5)/200 (1+1.5)/100 3/200 3/100
    "000000000002.txt":
      "79 0.33 0.25 0.33 0.3\n1 0.2 0.4 0.2 0.2\n0 0.55 0.6 0.1 0.2\n2 0.0125 0.025 0.015 0.03\n",
    "000000000003.txt": "",
  });
  assert.equal(warnings.length, 2);
});

Deno.test("cocoToYolo without the class mapping uses category_id - 1", () => {
  const { files, warnings } = cocoToYolo(COCO, { use_segments: false, cls91to80: false });
  const classes = (name: string) => files.get(name)!.trim().split("\n").map((l) => Number(l.split(" ")[0]));
  assert.deepEqual(classes("000000000001.txt"), [0, 12]);
  assert.deepEqual(classes("000000000002.txt"), [89, 11, 1, 0, 2]); // ann 7 (id 12 → 11) is kept now
  assert.equal(warnings.length, 1);
});

Deno.test("convertCoco writes labels/<split>/, never reuses a folder, and the labels scan cleanly", async () => {
  const tmp = await Deno.realPath(await Deno.makeTempDir());
  try {
    const json = join(tmp, "annotations/instances_val2017.json");
    await writeTree(tmp, { "annotations/instances_val2017.json": JSON.stringify(COCO) });
    const { result, out, err } = await captureLogs(() => convertCoco(json, { save_dir: join(tmp, "out") }));
    assert.equal(result.saveDir, join(tmp, "out"));
    assert.equal(result.files, 3);
    assert.equal(result.warnings.length, 2);
    assert.equal(err.length, 2);
    assert.deepEqual(out.slice(-2), [
      "COCO data converted successfully.",
      `Results saved to ${join(tmp, "out")}`,
    ]);
    for (const [name, text] of Object.entries(EXPECTED_SEGMENTS)) {
      assert.equal(await Deno.readTextFile(join(tmp, "out/labels/val2017", name)), text);
    }
    assert.deepEqual([...Deno.readDirSync(join(tmp, "out"))].map((e) => e.name).sort(), ["images", "labels"]);
    const again = await convertCoco(join(tmp, "annotations"), { save_dir: join(tmp, "out"), verbose: false });
    assert.equal(again.saveDir, join(tmp, "out2"));

    // The converted labels next to images of the JSON's sizes pass the label checks.
    await writeTree(tmp, {
      "out/images/val2017/000000000001.jpg": await jpeg(100, 50),
      "out/images/val2017/000000000002.jpg": await jpeg(200, 100),
      "out/images/val2017/000000000003.jpg": await jpeg(100, 100),
    });
    const images = await imageFiles(join(tmp, "out/images/val2017"));
    const { summary, labels } = await loadLabels(images, 80, { cache: false, verbose: false });
    assert.deepEqual([summary.found, summary.empty, summary.corrupt, summary.instances], [3, 1, 0, 6]);
    assert.deepEqual(labels.map((l) => l.cls), [[0, 11], [79, 1, 0, 2], []]); // ann 8's box row reads as a 2-point polygon
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});

Deno.test("the CLI's convert mode: coco-json= and save_dir=", async () => {
  const tmp = await Deno.realPath(await Deno.makeTempDir());
  try {
    await writeTree(tmp, { "instances_val2017.json": JSON.stringify(COCO) });
    const { result } = await captureLogs(() =>
      main([
        "convert",
        `coco-json=${tmp}/instances_val2017.json`,
        `save_dir=${tmp}/yolo`,
        "use_segments=False",
      ])
    );
    assert.equal(result, 0);
    assert.equal(
      await Deno.readTextFile(join(tmp, "yolo/labels/val2017/000000000001.txt")),
      "0 0.2 0.2 0.2 0.2\n11 0.7 0.4 0.4 0.4\n",
    );
    await assert.rejects(main(["convert"]), { name: "TypeError", message: /Missing "coco-json="/ });
    await assert.rejects(convertCoco(join(tmp, "none.json")), { name: "DatasetError" });
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});
