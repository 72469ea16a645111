/**
 * mod.ts used the way another Deno project uses it: imported by file URL from a folder with no deno.json
 * (so none of our import map), run with nothing but `deno run -A`.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { sharedPath } from "../_shared.ts";

Deno.test("mod.ts works when imported by path from another project, with no setup", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const mod = new URL("../../mod.ts", import.meta.url).href;
    await Deno.writeTextFile(
      join(dir, "main.ts"),
      `import { YOLO } from "${mod}";
const model = await YOLO.load(${JSON.stringify(sharedPath("models/yolo11n-seg-c128.pt"))});
const [r] = await model.predict(${JSON.stringify(sharedPath("images/bus.jpg"))}, { imgsz: 64, conf: 0.001 });
console.log(JSON.stringify({ classes: model.names.length, shape: r.origShape, masks: r.masks?.shape[0] === r.length }));
model.dispose();
`,
    );
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "--no-lock", "main.ts"],
      cwd: dir,
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stderr = new TextDecoder().decode(out.stderr);
    assert.equal(out.code, 0, stderr);
    const line = new TextDecoder().decode(out.stdout).trim().split("\n").at(-1)!;
    assert.deepEqual(JSON.parse(line), { classes: 80, shape: [1080, 810], masks: true });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
