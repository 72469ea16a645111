/**
 * `http(s)://` predict sources: named after the URL's last path component, fetched when read, and a bad
 * URL is a one-line DatasetError (a warning in a batch, where the other images go on).
 */
import assert from "node:assert/strict";
import { DatasetError } from "../../src/errors.ts";
import { readSourceItem, resolveSources, urlFileName } from "../../src/data/sources.ts";
import { decodeImage } from "../../src/io/image.ts";
import { setQuiet } from "../../src/log.ts";
import { predict } from "../../src/modes/predict.ts";
import { sharedPath } from "../_shared.ts";
import { closedPort, serve } from "../io/_server.ts";

const busPath = sharedPath("images/bus.jpg");
const busBytes = Deno.readFileSync(busPath);

/** `/images/bus.jpg` (any query), 404 for anything else. */
function images(req: Request): Response {
  const path = new URL(req.url).pathname;
  if (path === "/images/bus.jpg") {
    return new Response(busBytes, { headers: { "content-type": "image/jpeg" } });
  }
  return new Response("Not Found", { status: 404 });
}

Deno.test("a URL's file name is its last path component, unquoted, without the query", () => {
  assert.equal(urlFileName("https://ultralytics.com/images/bus.jpg?raw=true#x"), "bus.jpg");
  assert.equal(urlFileName("http://host/a/my%20photo.png"), "my photo.png");
  assert.equal(urlFileName("http://example.com/"), "example.com");
  assert.equal(urlFileName("http://[bad/x.jpg?q"), "x.jpg");
});

Deno.test("URL sources resolve without a request and are fetched when read", async () => {
  await using server = serve(images);
  const url = `${server.url}/images/bus.jpg?size=large`;
  const items = await resolveSources([url, busPath, `HTTP://127.0.0.1:${new URL(server.url).port}/x/`]);
  assert.deepEqual(items.map((i) => i.file), ["bus.jpg", busPath, "x"]);
  assert.equal(items[0].url, url);
  assert.equal(server.requests.length, 0);
  const bytes = await readSourceItem(items[0]);
  assert.deepEqual(server.requests, ["/images/bus.jpg?size=large"]);
  assert.deepEqual(bytes, busBytes);
  const img = await decodeImage(bytes, items[0].file);
  assert.deepEqual([img.width, img.height], [810, 1080]);
  assert.deepEqual(await readSourceItem(items[1]), busBytes);
});

Deno.test("a URL that is not found, refused, or cut short is a one-line DatasetError naming it", async () => {
  await using server = serve((req) => {
    if (new URL(req.url).pathname !== "/cut.jpg") return images(req);
    const body = new ReadableStream({
      start(c) {
        c.enqueue(busBytes.slice(0, 1000));
        c.close();
      },
    });
    return new Response(body, { headers: { "content-length": String(busBytes.length) } });
  });
  const missing = `${server.url}/images/nope.jpg`;
  const [item] = await resolveSources(missing);
  await assert.rejects(readSourceItem(item), (e) => {
    assert.ok(e instanceof DatasetError);
    assert.equal(e.file, missing);
    assert.equal(e.message, `Cannot download "${missing}": HTTP 404 Not Found`);
    return true;
  });
  const refused = `http://127.0.0.1:${closedPort()}/bus.jpg`;
  await assert.rejects(readSourceItem((await resolveSources(refused))[0]), {
    name: "DatasetError",
    message: `Cannot download "${refused}": connection refused (offline?)`,
  });
  const cut = `${server.url}/cut.jpg`;
  await assert.rejects(readSourceItem((await resolveSources(cut))[0]), {
    name: "DatasetError",
    message: `Cannot download "${cut}": the connection was cut after 1000 of ${busBytes.length} bytes`,
  });
  const gone = { file: "/no/such/image.jpg" };
  await assert.rejects(readSourceItem(gone), {
    name: "DatasetError",
    message: `Cannot read image "/no/such/image.jpg": file not found`,
  });
});

Deno.test("in a predict batch a bad URL is skipped like any unreadable image and the rest go on", async () => {
  await using server = serve(images);
  const shapes: number[][] = [];
  // A stand-in network that finds nothing: predict's source handling runs without a GPU.
  const model = {
    names: ["thing"],
    stride: [8, 16, 32],
    forward(_data: Float32Array, shape: readonly number[]) {
      shapes.push([...shape]);
      return Promise.resolve({
        output0: { data: new Float32Array(shape[0] * 37), shape: [shape[0], 37, 1] },
      });
    },
  };
  const bad = `${server.url}/images/missing.jpg`;
  const warnings: string[] = [];
  const consoleError = console.error;
  console.error = (line: string) => warnings.push(line);
  setQuiet(true);
  try {
    const results = await predict(model, [`${server.url}/images/bus.jpg`, bad, busPath], { imgsz: 64 });
    assert.deepEqual(results.map((r) => r.file), ["bus.jpg", busPath]);
    assert.deepEqual(shapes, [[2, 3, 64, 64]]);
  } finally {
    console.error = consoleError;
    setQuiet(false);
  }
  assert.deepEqual(warnings, [
    `WARNING ⚠️ Skipping image "missing.jpg": Cannot download "${bad}": HTTP 404 Not Found`,
  ]);
});

Deno.test("predict on one bad source throws its one-line error; a batch of only bad ones throws too", async () => {
  const model = {
    names: ["thing"],
    stride: [8, 16, 32],
    forward: () => Promise.reject(new Error("the network must not run")),
  };
  const dir = await Deno.makeTempDir();
  const empty = `${dir}/empty.jpg`, text = `${dir}/notes.png`;
  await Deno.writeFile(empty, new Uint8Array(0));
  await Deno.writeTextFile(text, "not an image");
  const consoleError = console.error;
  console.error = () => {};
  try {
    await assert.rejects(predict(model, empty), {
      name: "DatasetError",
      message: /empty\.jpg.*file is empty/,
    });
    await assert.rejects(predict(model, [empty, text]), {
      name: "DatasetError",
      message: "Cannot predict: none of the 2 images could be read",
    });
  } finally {
    console.error = consoleError;
    await Deno.remove(dir, { recursive: true });
  }
});
