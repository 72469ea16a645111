/**
 * The project's test command (`deno task test`): format, lint and type checks, then every test
 * (unit, kernel, end-to-end and the doc examples of mod.ts). Prints the plain summary line
 * `N passed, N failed` and exits non-zero when anything failed.
 */
const steps: [string, string[]][] = [
  ["fmt", ["fmt", "--check"]],
  ["lint", ["lint"]],
  ["check", ["check", "mod.ts", "cli.ts", "src/", "kernels/", "tests/", "bench/"]],
  ["doc lint", ["doc", "--lint", "mod.ts"]],
];

let failedSteps = 0;
for (const [name, args] of steps) {
  const { code } = await new Deno.Command(Deno.execPath(), { args, stdout: "inherit", stderr: "inherit" })
    .output();
  if (code !== 0) {
    console.error(`deno ${name} failed`);
    failedSteps++;
  }
}

const filter = Deno.args.length > 0 ? Deno.args : ["tests/", "mod.ts", "src/", "kernels/", "bench/"];
// On Linux, Deno's WebGPU starts every backend wgpu has, Mesa's OpenGL (EGL, swrast) beside Vulkan, in each
// test worker, though only the Vulkan adapter is used. With the OpenGL stack loaded in parallel workers, the
// process now and then corrupted its heap and aborted as it exited, after every test had passed (glibc
// "corrupted size vs. prev_size in fastbins"; 4 runs in 40 of a small set of kernel test files, 0 in 40 with
// Vulkan alone). The tests use Vulkan alone unless DENO_WEBGPU_BACKEND says otherwise.
const backend: Record<string, string> = Deno.build.os === "linux"
  ? { DENO_WEBGPU_BACKEND: Deno.env.get("DENO_WEBGPU_BACKEND") ?? "vulkan" }
  : {};
const child = new Deno.Command(Deno.execPath(), {
  args: ["test", "-A", "--doc", "--parallel", ...filter],
  stdout: "piped",
  stderr: "inherit",
  env: { DENO_JOBS: "2", NO_COLOR: "1", ...backend },
}).spawn();

let text = "";
const decoder = new TextDecoder();
for await (const chunk of child.stdout) {
  const s = decoder.decode(chunk, { stream: true });
  text += s;
  await Deno.stdout.write(chunk);
}
const { code } = await child.status;

const m = text.match(/(?:ok|FAILED) \| (\d+) passed(?: \(\d+ steps?\))? \| (\d+) failed/);
const passed = m ? Number(m[1]) : 0;
const failed = (m ? Number(m[2]) : 1) + failedSteps;
console.log(`${passed} passed, ${failed} failed`);
Deno.exit(code !== 0 || failed > 0 || passed === 0 ? 1 : 0);
