import assert from "node:assert/strict";
import {
  chooseFolds,
  DEFAULT_FOLDS,
  FOLD_KINDS,
  FOLD_MARGIN,
  type FoldKind,
} from "../../src/gpu/autotune_folds.ts";

/** Programs are their kinds joined; a forward costs `base` plus each kind's cost (negative: the fold pays). */
function fakeTuner(cost: Partial<Record<FoldKind, number>>, base = 2) {
  const built: string[] = [], released: string[] = [], timed: string[] = [];
  return {
    built,
    released,
    timed,
    build: (kinds: FoldKind[]) => {
      const p = kinds.join(",");
      built.push(p);
      return Promise.resolve(p);
    },
    time: (p: string) => {
      timed.push(p);
      const kinds = p ? p.split(",") as FoldKind[] : [];
      return Promise.resolve(base + kinds.reduce((a, k) => a + (cost[k] ?? 0), 0));
    },
    release: (p: string) => void released.push(p),
  };
}

Deno.test("chooseFolds: keeps every kind that pays, timing each removal against the re-timed incumbent", async () => {
  const t = fakeTuner({ pre: -0.1, pe: -0.01, cat: -0.2, post: -0.05, up: -0.03 });
  const { program, choice } = await chooseFolds(DEFAULT_FOLDS, DEFAULT_FOLDS, t.build, t.time, t.release);
  assert.equal(program, DEFAULT_FOLDS.join(","));
  assert.deepEqual(choice.kinds, [...DEFAULT_FOLDS]);
  assert.deepEqual(choice.present, [...DEFAULT_FOLDS]);
  assert.equal(choice.cached, false);
  // every kind, then per kind: (the incumbent again, except in the first round) and the incumbent without it
  assert.equal(choice.timings.length, 1 + 1 + 2 * (DEFAULT_FOLDS.length - 1));
  assert.deepEqual(choice.timings.map((x) => x.kinds.length), [5, 4, 5, 4, 5, 4, 5, 4, 5, 4]);
  assert.deepEqual(t.built.length, 1 + DEFAULT_FOLDS.length);
  // each candidate released once it lost; the chosen program never
  assert.deepEqual(t.released, t.built.slice(1));
  assert.ok(!t.released.includes(program));
});

Deno.test("chooseFolds: drops the kinds that cost time, and later removals are tried from the smaller set", async () => {
  const t = fakeTuner({ pre: 0.2, pe: -0.1, cat: -0.2, post: 0.3, up: -0.05 });
  const { program, choice } = await chooseFolds(DEFAULT_FOLDS, DEFAULT_FOLDS, t.build, t.time, t.release);
  assert.deepEqual(choice.kinds, ["pe", "cat", "up"]);
  assert.equal(program, "pe,cat,up");
  assert.deepEqual(t.built, [
    "pre,pe,cat,post,up",
    "pe,cat,post,up", // pre dropped: faster
    "cat,post,up",
    "pe,post,up",
    "pe,cat,up", // post dropped: faster
    "pe,cat",
  ]);
  // the losers and the replaced incumbents are released, each once
  assert.deepEqual(t.released.toSorted(), t.built.filter((p) => p !== program).toSorted());
  const [first] = choice.timings;
  assert.ok(Math.abs(first.ms - 2.15) < 1e-12, `${first.ms}`);
});

Deno.test("chooseFolds: a removal within the margin keeps the kind (fewer dispatches on a tie)", async () => {
  const t = fakeTuner({ up: 2 * FOLD_MARGIN * 0.4 }); // 0.8 % of 2 ms slower with it: kept
  const { choice } = await chooseFolds(["cat", "up"], ["cat", "up"], t.build, t.time, t.release);
  assert.deepEqual(choice.kinds, ["cat", "up"]);
  const u = fakeTuner({ up: 2 * FOLD_MARGIN * 1.5 }); // 1.5 % slower: dropped
  assert.deepEqual(
    (await chooseFolds(["cat", "up"], ["cat", "up"], u.build, u.time, u.release)).choice.kinds,
    ["cat"],
  );
});

Deno.test("chooseFolds: a failing build or timing releases what was built and throws", async () => {
  const t = fakeTuner({});
  let builds = 0;
  const failingBuild = (kinds: FoldKind[]) =>
    ++builds === 3 ? Promise.reject(new Error("no memory")) : t.build(kinds);
  await assert.rejects(
    chooseFolds(DEFAULT_FOLDS, DEFAULT_FOLDS, failingBuild, t.time, t.release),
    /no memory/,
  );
  assert.deepEqual(t.released.toSorted(), t.built.toSorted(), "every built program released");

  const u = fakeTuner({});
  const failingTime = (p: string) => p === "pre,pe,post,up" ? Promise.reject(new Error("lost")) : u.time(p);
  await assert.rejects(chooseFolds(DEFAULT_FOLDS, DEFAULT_FOLDS, u.build, failingTime, u.release), /lost/);
  assert.deepEqual(u.released.toSorted(), u.built.toSorted());
});

Deno.test("chooseFolds: a kind left out at the start (large) is added when the forward is faster with it", async () => {
  const t = fakeTuner({ post: -0.1, large: -0.1 });
  const { program, choice } = await chooseFolds(FOLD_KINDS, DEFAULT_FOLDS, t.build, t.time, t.release);
  assert.deepEqual(choice.timings[0].kinds, [...DEFAULT_FOLDS], "starts from the default kinds");
  assert.deepEqual(choice.kinds, [...FOLD_KINDS]);
  assert.equal(program, FOLD_KINDS.join(","));
  assert.equal(t.built.at(-1), FOLD_KINDS.join(","), "large tried last, added");
  const u = fakeTuner({ large: 0.1 });
  assert.deepEqual((await chooseFolds(FOLD_KINDS, DEFAULT_FOLDS, u.build, u.time, u.release)).choice.kinds, [
    ...DEFAULT_FOLDS,
  ]);
});

Deno.test("chooseFolds: a toggle that changes no program is skipped, untimed", async () => {
  const t = fakeTuner({ up: -0.1 });
  // large folds nothing once post and cat are gone
  const same = (a: FoldKind[], b: FoldKind[]) =>
    a.filter((k) => k !== "large").join() === b.filter((k) => k !== "large").join() &&
    !a.includes("post") && !a.includes("cat");
  const { choice } = await chooseFolds(["post", "up", "large"], ["up"], t.build, t.time, t.release, same);
  assert.deepEqual(choice.kinds, ["up"]);
  assert.deepEqual(t.built, ["up", "post,up", ""], "no program built for large");
  assert.equal(choice.timings.length, 4);
});
