/**
 * `DecodePool` / `DecodeAhead`: worker threads give the pixels and the errors of `decodeImage` on the main
 * thread; a dying worker's jobs finish on the calling thread; loads start ahead in order and a failed one
 * rejects only its own `get`.
 */
import assert from "node:assert/strict";
import encodePng from "@jsquash/png/encode.js";
import { DecodeAhead, DecodePool, decodeWorkers } from "../../src/io/decode_pool.ts";
import { decodeImage, type Image } from "../../src/io/image.ts";
import { sharedPath } from "../_shared.ts";

const dir = sharedPath("datasets/coco128-seg/images/train2017");
const jpegs = [...Deno.readDirSync(dir)].map((e) => `${dir}/${e.name}`).sort().slice(0, 6);

/** Resolves once every worker of `pool` has loaded (decodes before that run on this thread). */
async function untilReady(pool: DecodePool): Promise<void> {
  for (let i = 0; i < 400 && pool.readyWorkers < pool.size; i++) await new Promise((r) => setTimeout(r, 25));
  assert.equal(pool.readyWorkers, pool.size, "the workers loaded within 10 s");
}

Deno.test("decode pool: JPEG and PNG pixels equal decodeImage on this thread", async () => {
  using pool = new DecodePool(2);
  await untilReady(pool);
  const rgba = new Uint8ClampedArray(5 * 3 * 4).map((_, i) => (i * 37) % 256);
  const png = new Uint8Array(await encodePng(new ImageData(rgba, 5, 3)));
  const files = [...jpegs.map((f) => ({ f, bytes: Deno.readFileSync(f) })), { f: "x.png", bytes: png }];
  const viaPool = await Promise.all(files.map(({ f, bytes }) => pool.decode(bytes, f)));
  for (const [i, { f, bytes }] of files.entries()) {
    const here = await decodeImage(bytes, f);
    assert.equal(viaPool[i].width, here.width, f);
    assert.equal(viaPool[i].height, here.height, f);
    assert.deepEqual(viaPool[i].data, here.data, f);
  }
});

Deno.test("decode pool: errors are decodeImage's DatasetErrors, naming the file", async () => {
  using pool = new DecodePool(1);
  await untilReady(pool);
  const good = Deno.readFileSync(jpegs[0]);
  for (const bytes of [new Uint8Array(0), good.subarray(0, 600), new TextEncoder().encode("GIF89a....")]) {
    const here = await decodeImage(bytes, "bad.jpg").then(() => undefined, (e) => e);
    assert.ok(here instanceof Error);
    await assert.rejects(pool.decode(bytes, "bad.jpg"), (e: Error & { file?: string }) => {
      assert.equal(e.name, "DatasetError");
      assert.equal(e.message, here.message);
      assert.equal(e.file, "bad.jpg");
      return true;
    });
  }
});

Deno.test("decode pool: a worker that dies hands its jobs back to this thread", async () => {
  using pool = new DecodePool(1, new URL("./_dying_decode_worker.ts", import.meta.url));
  await untilReady(pool);
  const bytes = Deno.readFileSync(jpegs[1]);
  const img = await pool.decode(bytes, jpegs[1]);
  assert.deepEqual(img.data, (await decodeImage(bytes)).data);
  assert.equal(pool.readyWorkers, 0, "the failed worker is dropped");
});

Deno.test("decode pool: close rejects decodes still running, and later ones", async () => {
  const pool = new DecodePool(1);
  await untilReady(pool);
  const pending = pool.decode(Deno.readFileSync(jpegs[2]), jpegs[2]);
  pool.close();
  await assert.rejects(pending, /closed/);
  await assert.rejects(pool.decode(new Uint8Array(1)), /closed/);
});

Deno.test("decodeWorkers: Ultralytics' min(cpu count, workers); none for one image, one CPU or workers=0", () => {
  const cpus = navigator.hardwareConcurrency;
  assert.equal(decodeWorkers(8, 100), cpus < 2 ? 0 : Math.min(8, cpus));
  assert.equal(decodeWorkers(1, 100), cpus < 2 ? 0 : 1);
  assert.equal(decodeWorkers(8, 1), 0);
  assert.equal(decodeWorkers(0, 100), 0);
  assert.equal(decodeWorkers(Number.NaN, 100), 0);
  assert.equal(decodeWorkers(64, 3), cpus < 2 ? 0 : Math.min(3, cpus));
});

Deno.test("DecodeAhead: in order, `ahead` loads started past the one asked for, a failure only its own", async () => {
  const started: number[] = [];
  const img = (i: number): Image => ({ width: i, height: 1, data: new Uint8Array(3 * i) });
  const ahead = new DecodeAhead(6, 2, (i) => {
    started.push(i);
    return i === 1 ? Promise.reject(new Error("bad 1")) : Promise.resolve(img(i));
  });
  assert.equal((await ahead.get(0)).width, 0);
  assert.deepEqual(started, [0, 1, 2]);
  await new Promise((r) => setTimeout(r, 0)); // item 1's rejection settles unawaited: not unhandled
  await assert.rejects(ahead.get(1), /bad 1/);
  assert.deepEqual(started, [0, 1, 2, 3]);
  assert.equal((await ahead.get(2)).width, 2);
  assert.equal((await ahead.get(5)).width, 5);
  assert.deepEqual(started, [0, 1, 2, 3, 4, 5]);
});
