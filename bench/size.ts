/** `deno task size`: lines of TypeScript and WGSL per folder, to keep the core readable. */
const counts = new Map<string, number>();
async function walk(dir: string): Promise<void> {
  for await (const e of Deno.readDir(dir)) {
    const path = `${dir}/${e.name}`;
    if (e.isDirectory && !e.name.startsWith(".") && e.name !== "node_modules" && e.name !== "runs") {
      await walk(path);
    } else if (e.isFile && /\.(ts|wgsl)$/.test(e.name)) {
      const lines = (await Deno.readTextFile(path)).split("\n").length;
      counts.set(dir, (counts.get(dir) ?? 0) + lines);
    }
  }
}
await walk(".");
let total = 0;
for (const [dir, n] of [...counts].sort()) {
  console.log(`${String(n).padStart(7)}  ${dir}`);
  total += n;
}
console.log(`${String(total).padStart(7)}  total`);
