/**
 * Dataset YAMLs as Ultralytics' `check_det_dataset` reads them: the checks, where relative roots are
 * looked for, the shipped YAMLs, downloads from a local server (zips built here with fflate), the
 * offline message, and the real coco8-seg from ../shared.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { zipSync } from "fflate";
import { BUILTIN_DATASET_YAMLS, checkDataset, parseDatasetYaml } from "../../src/data/dataset_yaml.ts";
import { imageFiles } from "../../src/data/image_files.ts";
import { loadLabels } from "../../src/data/labels.ts";
import { decodeImage } from "../../src/io/image.ts";
import { sharedPath } from "../_shared.ts";
import { captureLogs, jpeg, writeTree } from "./_dataset_files.ts";

const REPO_DATASETS = fileURLToPath(new URL("../../datasets/", import.meta.url));
const quiet = { verbose: false };

Deno.test("names as a list or a map become a list; nc alone gives class_i; nc must match", () => {
  const p = (text: string) => parseDatasetYaml(`train: t\nval: v\n${text}`, "d.yaml");
  assert.deepEqual(p("names: [cat, dog]").names, ["cat", "dog"]);
  assert.deepEqual(p("names:\n  1: dog\n  0: cat\n").names, ["cat", "dog"]);
  assert.deepEqual(p("names: {'0': a, '1': b}").names, ["a", "b"]);
  assert.deepEqual(p("names: [yes, null, true, 3]").names, ["yes", "None", "True", "3"]);
  assert.deepEqual(p("nc: 3").names, ["class_0", "class_1", "class_2"]);
  assert.equal(p("nc: 2\nnames: [a, b]").nc, 2);
  assert.throws(() => p("nc: 3\nnames: [a, b]"), {
    name: "DatasetError",
    message: 'Cannot use dataset "d.yaml": "names" length 2 and "nc: 3" must match',
  });
  assert.throws(() => p("names:\n  0: a\n  2: c\n"), {
    message:
      'Cannot use dataset "d.yaml": 2-class dataset requires class indices 0-1, but you have invalid ' +
      "class indices 0-2 defined in your dataset YAML",
  });
  assert.throws(() => p("names:\n  a: x\n"), /keys must be class indices, not "a"/);
  assert.throws(() => p("names: cat"), /"names:" must be a list or a map/);
  assert.throws(() => p("nc: two"), /"nc: two" is not a class count/);
});

Deno.test("missing keys and malformed YAML are one-line errors naming the file", () => {
  const err = (text: string, message: string | RegExp) =>
    assert.throws(() => parseDatasetYaml(text, "my.yaml"), (e: Error) => {
      assert.equal(e.name, "DatasetError");
      assert.equal((e as Error & { file: string }).file, "my.yaml");
      assert.ok(!e.message.includes("\n"), e.message);
      if (typeof message === "string") assert.equal(e.message, message);
      else assert.match(e.message, message);
      return true;
    });
  err(
    "train: t\nnames: [a]",
    'Cannot use dataset "my.yaml": key "val:" is missing ("train" and "val" are required in all data YAMLs)',
  );
  err("val: v\nnames: [a]", /key "train:" is missing/);
  err("train: t\nval: v\n", 'Cannot use dataset "my.yaml": key "names:" is missing (or give "nc:")');
  err(
    "train: t\nval: [a, b\nnames: [a]",
    /^Cannot use dataset "my.yaml": invalid YAML: .* at line 3, column 1$/,
  );
  err("train: t\ntrain: u\nval: v\nnames: [a]", /invalid YAML: Map keys must be unique at line 2/);
  err("- a\n- b\n", 'Cannot use dataset "my.yaml": expected a mapping at the top level');
  err("", 'Cannot use dataset "my.yaml": expected a mapping at the top level');
});

Deno.test("'validation:' is renamed to 'val:' with a warning; YAML 1.2 keeps 'no' a string", async () => {
  const { result, err } = await captureLogs(() =>
    Promise.resolve(parseDatasetYaml("train: t\nvalidation: v\nnames: [no, off]", "d.yaml"))
  );
  assert.equal(result.yaml.val, "v");
  assert.deepEqual(result.names, ["no", "off"]);
  assert.equal(err.length, 1);
});

Deno.test("the shipped YAMLs parse: 80 COCO names and their download zips", () => {
  for (const [name, text] of Object.entries(BUILTIN_DATASET_YAMLS)) {
    const d = parseDatasetYaml(text, name);
    assert.equal(d.nc, 80, name);
    assert.equal(d.names[0], "person");
    assert.equal(d.names[79], "toothbrush");
  }
  assert.deepEqual(parseDatasetYaml(BUILTIN_DATASET_YAMLS["coco8-seg.yaml"]).download, [
    { url: "https://github.com/ultralytics/assets/releases/download/v0.0.0/coco8-seg.zip", dir: null },
  ]);
  assert.deepEqual(parseDatasetYaml(BUILTIN_DATASET_YAMLS["coco-seg.yaml"]).download.map((d) => d.dir), [
    null,
    "images",
    "images",
  ]);
  // Names identical to the shared copy of Ultralytics' file
  const shared = parseDatasetYaml(Deno.readTextFileSync(sharedPath("datasets/coco128-seg.yaml")));
  assert.deepEqual(parseDatasetYaml(BUILTIN_DATASET_YAMLS["coco128-seg.yaml"]).names, shared.names);
});

Deno.test("relative roots: next to the YAML, then the working directory, then the datasets folder", async () => {
  const tmp = await Deno.realPath(await Deno.makeTempDir());
  const cwd = Deno.cwd();
  try {
    const yaml = join(tmp, "cfg/d.yaml");
    await writeTree(tmp, {
      "cfg/d.yaml": "path: ds\ntrain: images/train\nval: [images/a, images/b]\nnames: [x]\n",
    });
    const opts = { datasets_dir: join(tmp, "store"), download: false, ...quiet };
    const root = async () => (await checkDataset(yaml, opts).catch((e) => e)).message ?? "";
    // Nowhere yet: the error names the path in the datasets folder.
    assert.match(
      await root(),
      new RegExp(`"${tmp}/store/ds/images/a" does not exist and it names no download`),
    );
    await writeTree(tmp, { "store/ds/images/a/1.jpg": "", "store/ds/images/b/1.jpg": "" });
    let d = await checkDataset(yaml, opts);
    assert.equal(d.path, join(tmp, "store/ds"));
    assert.deepEqual(d.val, [join(tmp, "store/ds/images/a"), join(tmp, "store/ds/images/b")]);
    assert.equal(d.train, join(tmp, "store/ds/images/train")); // train need not exist
    assert.equal(d.test, null);
    assert.equal(d.yamlFile, yaml);

    await writeTree(tmp, { "work/ds/images/a/1.jpg": "", "work/ds/images/b/1.jpg": "" });
    Deno.chdir(join(tmp, "work"));
    d = await checkDataset(yaml, opts);
    assert.equal(d.path, join(tmp, "work/ds"));

    await writeTree(tmp, { "cfg/ds/images/a/1.jpg": "", "cfg/ds/images/b/1.jpg": "" });
    d = await checkDataset(yaml, opts);
    assert.equal(d.path, join(tmp, "cfg/ds"));
  } finally {
    Deno.chdir(cwd);
    await Deno.remove(tmp, { recursive: true });
  }
});

Deno.test("absolute roots stay; no root means the YAML's folder; '../' splits fall back inside the root", async () => {
  const tmp = await Deno.realPath(await Deno.makeTempDir());
  try {
    await writeTree(tmp, {
      "abs.yaml": `path: ${tmp}/data\ntrain: images/t\nval: ../images/v\nnames: [x]\n`,
      "data/images/v/1.jpg": "",
      "here/d.yaml": "train: images/t\nval: images/v\ntest: ''\nnames: [x]\n",
      "here/images/v/1.jpg": "",
    });
    const a = await checkDataset(join(tmp, "abs.yaml"), quiet);
    assert.equal(a.path, join(tmp, "data"));
    assert.equal(a.val, join(tmp, "data/images/v")); // "../images/v" does not exist, "images/v" does
    const h = await checkDataset(join(tmp, "here/d.yaml"), quiet);
    assert.equal(h.path, join(tmp, "here"));
    assert.equal(h.val, join(tmp, "here/images/v"));
    assert.equal(h.test, null);
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});

Deno.test("a shipped YAML is found by name; an unknown name says what ships", async () => {
  const d = await checkDataset("coco8-seg.yaml", {
    datasets_dir: sharedPath("datasets"),
    download: false,
    ...quiet,
  });
  assert.equal(d.yamlFile, join(REPO_DATASETS, "coco8-seg.yaml"));
  assert.equal(d.path, sharedPath("datasets/coco8-seg"));
  assert.equal(d.val, sharedPath("datasets/coco8-seg/images/val"));
  await assert.rejects(checkDataset("coco9-seg.yaml", quiet), {
    name: "DatasetError",
    message: 'Cannot find dataset "coco9-seg.yaml": no such file, and not one of the shipped datasets ' +
      "(coco8-seg.yaml, coco128-seg.yaml, coco-seg.yaml)",
  });
});

Deno.test("the shared coco8-seg: 4 val images, their labels, and sizes as decoded", async () => {
  const d = await checkDataset(sharedPath("datasets/coco8-seg.yaml"), { download: false, ...quiet });
  assert.equal(d.nc, 80);
  const images = await imageFiles(d.val!);
  assert.equal(images.length, 4);
  const { labels, summary } = await loadLabels(images, d.nc, { cache: false, verbose: false });
  // Count the label rows ourselves.
  let rows = 0;
  for (const im of images) {
    const text = await Deno.readTextFile(im.replace("/images/", "/labels/").replace(/\.jpg$/, ".txt"));
    rows += text.trim().split("\n").filter((l) => l.trim()).length;
  }
  assert.deepEqual(
    [summary.found, summary.missing, summary.empty, summary.corrupt, summary.instances],
    [4, 0, 0, 0, rows],
  );
  assert.equal(labels.reduce((s, l) => s + l.segments.length, 0), rows);
  for (const l of labels) {
    const img = await decodeImage(await Deno.readFile(l.im_file), l.im_file);
    assert.deepEqual(l.shape, [img.height, img.width], l.im_file);
    for (const s of l.segments) assert.ok(s.length >= 6 && s.length % 2 === 0);
  }
});

/** Serves `files` by path; counts requests. */
function serve(files: Record<string, Uint8Array<ArrayBuffer>>) {
  const requests: string[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (req) => {
    const path = new URL(req.url).pathname;
    requests.push(path);
    const body = files[path];
    return body ? new Response(body) : new Response("Not Found", { status: 404 });
  });
  return {
    url: `http://127.0.0.1:${server.addr.port}`,
    requests,
    [Symbol.asyncDispose]: () => server.shutdown(),
  };
}

/** A port nothing listens on. */
function closedPort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

const listDir = (dir: string) => [...Deno.readDirSync(dir)].map((e) => e.name).sort();

Deno.test("missing val images are downloaded, unpacked into the datasets folder, and then found", async () => {
  const tmp = await Deno.realPath(await Deno.makeTempDir());
  const j = await jpeg(16, 12);
  const zip = zipSync({
    "mini/images/val/a.jpg": j,
    "mini/labels/val/a.txt": new TextEncoder().encode("0 0.1 0.1 0.5 0.1 0.5 0.5\n"),
    "mini/images/train/b.jpg": j,
    "__MACOSX/mini/._a.jpg": new Uint8Array([1, 2, 3]),
  });
  await using server = serve({ "/mini.zip": zip });
  try {
    await writeTree(tmp, {
      "cfg/mini.yaml":
        `path: mini\ntrain: images/train\nval: images/val\nnames: [x]\ndownload: ${server.url}/mini.zip\n`,
    });
    const store = join(tmp, "store");
    const { result: d, out, err } = await captureLogs(() =>
      checkDataset(join(tmp, "cfg/mini.yaml"), { datasets_dir: store })
    );
    assert.equal(d.val, join(store, "mini/images/val"));
    assert.deepEqual(listDir(store), ["mini"]); // no __MACOSX, no leftover unpack folder
    assert.deepEqual(listDir(join(store, "mini")), ["images", "labels"]);
    assert.deepEqual(await Deno.readFile(join(store, "mini/images/val/a.jpg")), j);
    assert.ok(err[0].includes(`images not found, missing path '${store}/mini/images/val'`), err[0]);
    assert.match(
      err[1],
      new RegExp(`^Downloading ${server.url}/mini\\.zip to '${store}': 100% 0\\.0/0\\.0 MB in \\d+\\.\\ds$`),
    );
    assert.match(out.at(-1)!, /^Dataset download success ✅ \(\d+\.\ds\), saved to /);
    // The second check finds the data and fetches nothing.
    await checkDataset(join(tmp, "cfg/mini.yaml"), { datasets_dir: store, ...quiet });
    assert.equal(server.requests.length, 1);
    const labels = await loadLabels(await imageFiles(d.val!), d.nc, { verbose: false, cache: false });
    assert.equal(labels.summary.instances, 1);
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});

Deno.test("download lists: {url, dir} unpacks below the root; a zip without one top folder gets its own", async () => {
  const tmp = await Deno.realPath(await Deno.makeTempDir());
  const j = await jpeg(16, 12);
  const enc = (s: string) => new TextEncoder().encode(s);
  await using server = serve({
    "/labels.zip": zipSync({
      "set/labels/val/a.txt": enc("0 0.5 0.5 0.2 0.2\n"),
      "set/val.txt": enc("./images/val/a.jpg\n"),
    }),
    "/val.zip": zipSync({ "val/a.jpg": j }),
    "/extra.zip": zipSync({ "x.txt": enc("x"), "y.txt": enc("y") }),
  });
  try {
    const yaml = `path: set\ntrain: val.txt\nval: val.txt\nnames: [x]\ndownload:\n` +
      `  - ${server.url}/labels.zip\n  - url: ${server.url}/val.zip\n    dir: images\n  - ${server.url}/extra.zip\n`;
    await writeTree(tmp, { "set.yaml": yaml });
    const store = join(tmp, "store");
    const d = await checkDataset(join(tmp, "set.yaml"), { datasets_dir: store, ...quiet });
    assert.equal(d.val, join(store, "set/val.txt"));
    assert.deepEqual(await imageFiles(d.val!), [join(store, "set/images/val/a.jpg")]);
    assert.deepEqual(listDir(store), ["extra", "set"]);
    assert.deepEqual(listDir(join(store, "extra")), ["x.txt", "y.txt"]);
    assert.deepEqual(listDir(join(store, "set/images")), ["val"]);
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});

Deno.test("download failures are one line saying where to put the data, and leave nothing behind", async () => {
  const tmp = await Deno.realPath(await Deno.makeTempDir());
  await using server = serve({ "/junk.zip": new TextEncoder().encode("this is not a zip") });
  try {
    const store = join(tmp, "store");
    const check = async (download: string, options = {}) => {
      await writeTree(tmp, {
        "d.yaml": `path: ds\ntrain: t\nval: images/val\nnames: [x]\ndownload: ${download}\n`,
      });
      const e = await checkDataset(join(tmp, "d.yaml"), { datasets_dir: store, ...quiet, ...options }).then(
        () => assert.fail("expected an error"),
        (e) => e as Error,
      );
      assert.equal(e.name, "DatasetError");
      assert.ok(!e.message.includes("\n"), e.message);
      assert.ok(e.message.includes(`"${store}/ds/images/val" does not exist`), e.message);
      assert.ok(e.message.endsWith(`put the data there, or set datasets_dir= (now "${store}")`), e.message);
      return e.message;
    };
    const port = closedPort();
    assert.match(
      await check(`http://127.0.0.1:${port}/ds.zip`),
      new RegExp(
        `downloading "http://127\\.0\\.0\\.1:${port}/ds\\.zip" failed: connection refused \\(offline\\?\\)`,
      ),
    );
    assert.match(await check(`${server.url}/gone.zip`), /failed: HTTP 404 Not Found;/);
    assert.match(await check(`${server.url}/junk.zip`), /failed: not a zip archive/);
    assert.match(await check(`${server.url}/gone.zip`, { download: false }), /\(download is off\)/);
    assert.match(await check("bash scripts/get_coco.sh"), /its download script is not supported/);
    assert.deepEqual(listDir(store), []); // no partial unpack folders
    // A custom fetch is used when given.
    const seen: string[] = [];
    const fetchStub: typeof fetch = (input) => {
      seen.push(String(input));
      return Promise.resolve(new Response("nope", { status: 503, statusText: "Service Unavailable" }));
    };
    assert.match(
      await check("https://example.com/ds.zip", { fetch: fetchStub }),
      /HTTP 503 Service Unavailable/,
    );
    assert.deepEqual(seen, ["https://example.com/ds.zip"]);
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});
