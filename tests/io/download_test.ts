/**
 * Official weights by name: downloaded from a local server standing in for Ultralytics' release assets,
 * cached in the weights folder, and every failure (cut body, 404, nothing listening) a one-line error that
 * leaves no file behind.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { CheckpointError } from "../../src/errors.ts";
import { findOrDownloadWeights, OFFICIAL_WEIGHTS, weightsDir } from "../../src/io/download.ts";
import { loadModel } from "../../src/load_model.ts";
import { sharedPath } from "../_shared.ts";
import { closedPort, serve } from "./_server.ts";

const NAME = "yolo11n-seg.pt";
const ptBytes = Deno.readFileSync(sharedPath("models/yolo11n-seg-c128.pt"));

/** Serves the checkpoint as `/v8.3.0/<official name>`, 404 otherwise; `/moved/...` redirects there. */
function assets(req: Request): Response {
  const path = new URL(req.url).pathname;
  if (path.startsWith("/moved/")) {
    return Response.redirect(new URL(path.replace("/moved/", "/v8.3.0/"), req.url), 302);
  }
  const name = path.replace(/^\/v8\.3\.0\//, "");
  if (path.startsWith("/v8.3.0/") && OFFICIAL_WEIGHTS.has(name)) return new Response(ptBytes);
  return new Response("Not Found", { status: 404 });
}

const listDir = (dir: string) => [...Deno.readDirSync(dir)].map((e) => e.name).sort();

Deno.test("the official names are the ten YOLO11 and YOLOv8 segmentation checkpoints", () => {
  assert.equal(OFFICIAL_WEIGHTS.size, 10);
  for (const v of ["yolo11", "yolov8"]) {
    for (const s of "nsmlx") assert.ok(OFFICIAL_WEIGHTS.has(`${v}${s}-seg.pt`));
  }
  assert.ok(!OFFICIAL_WEIGHTS.has("yolo11n.pt"));
});

Deno.test("a missing official checkpoint downloads into the weights folder once, then loads from there", async () => {
  const dir = await Deno.makeTempDir();
  await using server = serve(assets);
  const options = { weightsDir: join(dir, "w"), assetsUrl: `${server.url}/moved` };
  const model = await loadModel(NAME, options);
  assert.equal(server.requests.length, 2, "the redirect, then the file");
  const dest = join(dir, "w", NAME);
  assert.deepEqual(await Deno.readFile(dest), ptBytes);
  assert.deepEqual(listDir(join(dir, "w")), [NAME]);
  assert.equal(model.file, dest);
  assert.equal(model.task, "segment");
  assert.equal(model.names.length, 80);
  // Second use: the cached file, no request.
  assert.equal(await findOrDownloadWeights(NAME, options), dest);
  assert.equal((await loadModel(NAME, options)).file, dest);
  assert.equal(server.requests.length, 2);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("a file at the given path wins over the weights folder, and other bare names are not downloaded", async () => {
  const dir = await Deno.makeTempDir();
  await using server = serve(assets);
  const options = { weightsDir: dir, assetsUrl: `${server.url}/v8.3.0` };
  const local = join(dir, "mine.pt");
  await Deno.writeFile(local, ptBytes);
  assert.equal((await loadModel(local, options)).file, local);
  await assert.rejects(loadModel("yolo11n.pt", options), {
    name: "CheckpointError",
    message: `Cannot find model "yolo11n.pt": no such file`,
  });
  await assert.rejects(loadModel("sub/yolo11n-seg.pt", options), {
    message: `Cannot find model "sub/yolo11n-seg.pt": no such file`,
  });
  assert.equal(server.requests.length, 0);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("a connection cut mid-body is an error and leaves neither the file nor its .part", async () => {
  const half = ptBytes.length >> 1;
  for (const how of ["ends", "errors"]) {
    const dir = await Deno.makeTempDir();
    await using server = serve(() => {
      const body = new ReadableStream<Uint8Array>({
        start(c) {
          c.enqueue(ptBytes.slice(0, half));
          if (how === "ends") c.close();
        },
        pull(c) {
          c.error(new Error("test server hangs up"));
        },
      });
      return new Response(body, { headers: { "content-length": String(ptBytes.length) } });
    });
    const url = `${server.url}/${NAME}`;
    const error = await findOrDownloadWeights(NAME, { weightsDir: dir, assetsUrl: server.url }).then(
      () => assert.fail("the download should fail"),
      (e) => e,
    );
    assert.ok(error instanceof CheckpointError, how);
    assert.match(error.message, new RegExp(`^Cannot download "${NAME}" from ${url}: the connection was cut`));
    assert.match(error.message, new RegExp(`of ${ptBytes.length} bytes\\. Download it yourself`));
    assert.ok(!error.message.includes("\n"));
    assert.deepEqual(listDir(dir), [], how);
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("HTTP 404 names the URL and where to put the file by hand", async () => {
  const dir = await Deno.makeTempDir();
  await using server = serve(assets);
  const url = `${server.url}/v8.2.0/${NAME}`;
  await assert.rejects(findOrDownloadWeights(NAME, { weightsDir: dir, assetsUrl: `${server.url}/v8.2.0/` }), {
    name: "CheckpointError",
    message: `Cannot download "${NAME}" from ${url}: HTTP 404 Not Found. Download it yourself and put it ` +
      `at ${join(dir, NAME)}, or pass model=/path/to/${NAME}`,
  });
  assert.deepEqual(listDir(dir), []);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("nothing listening is the offline message", async () => {
  const dir = await Deno.makeTempDir();
  const base = `http://127.0.0.1:${closedPort()}`;
  await assert.rejects(loadModel(NAME, { weightsDir: dir, assetsUrl: base }), {
    name: "CheckpointError",
    message: `Cannot download "${NAME}" from ${base}/${NAME}: connection refused (offline?). ` +
      `Download it yourself and put it at ${join(dir, NAME)}, or pass model=/path/to/${NAME}`,
  });
  assert.deepEqual(listDir(dir), []);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("the weights folder and assets URL default to their environment variables, then ./weights", async () => {
  const dir = await Deno.makeTempDir();
  await using server = serve(assets);
  const saved = ["YOLO_WGSL_WEIGHTS_DIR", "YOLO_WGSL_ASSETS_URL"].map((k) => [k, Deno.env.get(k)] as const);
  try {
    Deno.env.delete("YOLO_WGSL_WEIGHTS_DIR");
    assert.equal(weightsDir(), "weights");
    assert.equal(weightsDir("elsewhere"), "elsewhere");
    Deno.env.set("YOLO_WGSL_WEIGHTS_DIR", dir);
    Deno.env.set("YOLO_WGSL_ASSETS_URL", `${server.url}/v8.3.0`);
    assert.equal(await findOrDownloadWeights("yolov8n-seg.pt"), join(dir, "yolov8n-seg.pt"));
    assert.equal(server.requests.length, 1);
  } finally {
    for (const [k, v] of saved) v === undefined ? Deno.env.delete(k) : Deno.env.set(k, v);
  }
  await Deno.remove(dir, { recursive: true });
});

Deno.test("the CLI downloads into weights_dir= with a final progress line on stderr", async () => {
  const dir = await Deno.makeTempDir();
  await using server = serve(assets);
  const root = new URL("../../", import.meta.url);
  const run = (...args: string[]) =>
    new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "cli.ts", "info", `model=${NAME}`, `weights_dir=${dir}`, ...args],
      cwd: root,
      env: { YOLO_WGSL_ASSETS_URL: `${server.url}/v8.3.0`, NO_COLOR: "1" },
      stdout: "piped",
      stderr: "piped",
    }).output();
  const first = await run();
  const stderr = new TextDecoder().decode(first.stderr);
  assert.equal(first.code, 0, stderr);
  const mb = (ptBytes.length / 1e6).toFixed(1);
  assert.match(
    stderr.trim(),
    new RegExp(
      `^Downloading ${server.url}/v8\\.3\\.0/${NAME} to '${dir}/${NAME}': 100% ${mb}/${mb} MB in [\\d.]+s$`,
    ),
  );
  assert.match(new TextDecoder().decode(first.stdout), /summary \(fused\)/);
  assert.deepEqual(await Deno.readFile(join(dir, NAME)), ptBytes);
  const again = await run();
  assert.equal(again.code, 0);
  assert.equal(new TextDecoder().decode(again.stderr), "");
  assert.equal(server.requests.length, 1);
  await Deno.remove(dir, { recursive: true });
});
