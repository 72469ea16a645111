/**
 * The npm packages of the library, pinned in one place with inline `npm:` specifiers: a Deno project that
 * imports `mod.ts` by path or URL resolves bare names through its own import map, not ours, so the library
 * may not rely on `deno.json`'s `imports` (tests and benchmarks still use those names; the versions agree).
 * @module
 */
export { parse as parseYaml, parseDocument as parseYamlDocument } from "npm:yaml@2.9.1";
export { inflateSync, Unzip, type UnzipFile, UnzipInflate } from "npm:fflate@0.8.3";
export { default as decodeJpegWasm, init as initJpeg } from "npm:@jsquash/jpeg@1.6.0/decode.js";
export { default as decodePngWasm } from "npm:@jsquash/png@3.1.1/decode.js";
export { default as encodePngWasm } from "npm:@jsquash/png@3.1.1/encode.js";

/** Dawn's Node-API build (`webgpu: "dawn"`), imported only when asked for: a 21 MB native module. */
export function importDawn(): Promise<unknown> {
  // deno-lint-ignore no-import-prefix -- pinned here with the others (see above), and loaded lazily
  return import("npm:webgpu@0.6.2");
}
