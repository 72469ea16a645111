import assert from "node:assert/strict";
import { defaultTuneCachePath, TuneCache, type TuneEntry } from "../../src/gpu/tune_cache.ts";

const entry = (wgM: number): TuneEntry => ({
  tile: { WG_M: wgM, WG_N: 8, BK: 16, PIX4: 1, CH4: 2 },
  heuristicMs: 0.2,
  bestMs: 0.1,
  candidates: 12,
});

Deno.test("tune cache: absent file is empty, saves merge with another writer's entries, atomically", async () => {
  const dir = await Deno.makeTempDir({ prefix: "yolo-wgsl-tune-cache-" });
  try {
    const path = `${dir}/sub/tune.json`;
    const a = await TuneCache.open(path);
    const b = await TuneCache.open(path);
    assert.equal(a.get("k1"), undefined);
    a.set("k1", entry(8));
    b.set("k2", entry(16));
    assert.equal(await a.save(), true);
    assert.equal(await b.save(), true);
    const c = await TuneCache.open(path);
    assert.deepEqual(c.get("k1"), entry(8));
    assert.deepEqual(c.get("k2"), entry(16));
    assert.equal(c.get("toString"), undefined, "only own keys");
    assert.deepEqual(
      [...Deno.readDirSync(`${dir}/sub`)].map((e) => e.name),
      ["tune.json"],
      "no temporary files left",
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("tune cache: corrupt or foreign files read as empty; an unwritable place keeps choices in memory", async () => {
  const dir = await Deno.makeTempDir({ prefix: "yolo-wgsl-tune-cache-" });
  try {
    for (const text of ["{ not json", "[1,2]", '{"version":2,"entries":{"k":1}}', "null"]) {
      await Deno.writeTextFile(`${dir}/tune.json`, text);
      assert.equal((await TuneCache.open(`${dir}/tune.json`)).get("k"), undefined, text);
    }
    // A path whose parent is a file cannot be written.
    await Deno.writeTextFile(`${dir}/file`, "x");
    const cache = await TuneCache.open(`${dir}/file/tune.json`);
    cache.set("k", entry(4));
    assert.equal(await cache.save(), false);
    assert.deepEqual(cache.get("k"), entry(4));
    const memory = await TuneCache.open(undefined);
    memory.set("k", entry(4));
    assert.equal(await memory.save(), true);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("tune cache: default path from YOLO_WGSL_CACHE_DIR, XDG_CACHE_HOME, then HOME", () => {
  const saved = ["YOLO_WGSL_CACHE_DIR", "XDG_CACHE_HOME", "HOME"].map((k) => [k, Deno.env.get(k)] as const);
  try {
    Deno.env.set("YOLO_WGSL_CACHE_DIR", "/tmp/a");
    assert.equal(defaultTuneCachePath(), "/tmp/a/tune.json");
    Deno.env.delete("YOLO_WGSL_CACHE_DIR");
    Deno.env.set("XDG_CACHE_HOME", "/tmp/x");
    assert.equal(defaultTuneCachePath(), "/tmp/x/yolo-wgsl/tune.json");
    Deno.env.delete("XDG_CACHE_HOME");
    Deno.env.set("HOME", "/home/u");
    assert.equal(defaultTuneCachePath(), "/home/u/.cache/yolo-wgsl/tune.json");
  } finally {
    for (const [k, v] of saved) v === undefined ? Deno.env.delete(k) : Deno.env.set(k, v);
  }
});
