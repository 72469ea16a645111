/**
 * JPEG decoding as `cv2.imdecode(bytes, cv2.IMREAD_COLOR)` does it, and the one-line errors for files that
 * are not readable images.
 *
 * The SHA-1 digests are of OpenCV's own output (BGR reversed to RGB, HWC bytes), produced with Debian
 * bookworm's python3-opencv 4.6.0 linking libjpeg-turbo 2.1.5:
 * `hashlib.sha1(cv2.imdecode(np.fromfile(f, np.uint8), cv2.IMREAD_COLOR)[..., ::-1].tobytes())`.
 */
import assert from "node:assert/strict";
import { DatasetError } from "../../src/errors.ts";
import { decodeImage, loadImage } from "../../src/io/image.ts";
import { rand } from "../_rand.ts";
import { sharedPath } from "../_shared.ts";
import { sha1 } from "../_sha1.ts";

const bus = await Deno.readFile(sharedPath("images/bus.jpg"));
const zidane = await Deno.readFile(sharedPath("images/zidane.jpg"));

/** Asserts a one-line DatasetError about `file` whose message matches `detail`. */
async function rejectsWith(p: Promise<unknown>, file: string, detail: RegExp) {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof DatasetError, `expected a DatasetError, got ${e}`);
    assert.equal(e.name, "DatasetError");
    assert.equal(e.file, file);
    assert.ok(!e.message.includes("\n"), `one line: ${JSON.stringify(e.message)}`);
    assert.ok(e.message.startsWith(`Cannot read image "${file}": `), e.message);
    assert.match(e.message, detail);
    return true;
  });
}

Deno.test("decodeImage: bus.jpg and zidane.jpg are the pixels OpenCV decodes, as RGB", async () => {
  const b = await decodeImage(bus, "bus.jpg");
  assert.deepEqual([b.width, b.height, b.data.length], [810, 1080, 810 * 1080 * 3]);
  assert.deepEqual([...b.data.subarray(0, 3)], [172, 146, 119]); // cv2 gives BGR [119, 146, 172] at (0, 0)
  assert.equal(await sha1(b.data), "b61e65a2e82a4de6ec1baf86bc186928ffbd768e");
  const z = await decodeImage(zidane, "zidane.jpg");
  assert.deepEqual([z.width, z.height, z.data.length], [1280, 720, 1280 * 720 * 3]);
  assert.equal(await sha1(z.data), "710a522ff7a5713f03a1820e6cf26f82ad32876c");
});

Deno.test("loadImage reads a file and sniffs the format, not the extension", async () => {
  const img = await loadImage(sharedPath("images/bus.jpg"));
  assert.deepEqual([img.width, img.height], [810, 1080]);
  const tmp = await Deno.makeTempFile({ suffix: ".png" }); // a JPEG named .png
  try {
    await Deno.writeFile(tmp, zidane);
    const z = await loadImage(tmp);
    assert.deepEqual([z.width, z.height], [1280, 720]);
  } finally {
    await Deno.remove(tmp);
  }
});

Deno.test("loadImage: a missing file is a DatasetError naming it", async () => {
  const path = "/nonexistent/dir/missing.jpg";
  await rejectsWith(loadImage(path), path, /: file not found$/);
});

Deno.test("decodeImage: a zero-byte file is a one-line DatasetError", async () => {
  await rejectsWith(decodeImage(new Uint8Array(0), "empty.jpg"), "empty.jpg", /: file is empty$/);
});

Deno.test("decodeImage: random bytes and a text file are not images", async () => {
  const r = rand(3);
  const noise = Uint8Array.from({ length: 4096 }, () => Math.floor(r() * 256));
  noise[0] = 0x13; // not a signature byte of any format
  await rejectsWith(decodeImage(noise, "noise.jpg"), "noise.jpg", /: not an image \(starts with 13 /);
  const text = new TextEncoder().encode("class x1 y1 x2 y2\n0 0.1 0.2 0.3 0.4\n");
  await rejectsWith(
    decodeImage(text, "labels/a.jpg"),
    "labels/a.jpg",
    /: not an image \(starts with 63 6c 61 73 73 20 78 31\)$/,
  );
  await rejectsWith(
    decodeImage(new Uint8Array([0xff]), "one.jpg"),
    "one.jpg",
    /not an image \(starts with ff\)/,
  );
});

Deno.test("decodeImage: other image formats are named in the error", async () => {
  const gif = new TextEncoder().encode("GIF89a\x01\x00\x01\x00");
  await rejectsWith(decodeImage(gif, "a.gif"), "a.gif", /: GIF is not supported \(JPEG and PNG are\)$/);
  const webp = new TextEncoder().encode("RIFF\x10\x00\x00\x00WEBPVP8 ");
  await rejectsWith(decodeImage(webp, "a.webp"), "a.webp", /: WebP is not supported/);
});

Deno.test("decodeImage: a truncated JPEG (half of bus.jpg) is a DatasetError", async () => {
  const half = bus.slice(0, bus.length >> 1);
  await rejectsWith(
    decodeImage(half, "half.jpg"),
    "half.jpg",
    /: truncated JPEG data \(Premature end of JPEG file\)$/,
  );
  const header = bus.slice(0, 700); // markers only, no scan data
  await rejectsWith(decodeImage(header, "header.jpg"), "header.jpg", /truncated JPEG data/);
});

Deno.test("decodeImage: corrupt JPEG data is a DatasetError carrying libjpeg's message", async () => {
  const broken = bus.slice(0, 2000);
  broken.fill(0x00, 4, 2000); // SOI then zeros: no valid marker follows
  await rejectsWith(decodeImage(broken, "broken.jpg"), "broken.jpg", /: corrupt JPEG data \(.+\)$/);
});

Deno.test("decodeImage: damage inside the scan still decodes (libjpeg warns; OpenCV returns the image)", async () => {
  const damaged = bus.slice();
  damaged.fill(0x00, 30000, 30300);
  const img = await decodeImage(damaged, "damaged.jpg");
  assert.deepEqual([img.width, img.height], [810, 1080]);
});

Deno.test("decodeImage: concurrent decodes keep their own libjpeg messages", async () => {
  const half = bus.slice(0, bus.length >> 1);
  const [good, bad, good2] = await Promise.allSettled([
    decodeImage(zidane, "zidane.jpg"),
    decodeImage(half, "half.jpg"),
    decodeImage(bus, "bus.jpg"),
  ]);
  assert.equal(good.status, "fulfilled");
  assert.equal(good2.status, "fulfilled");
  assert.equal(bad.status, "rejected");
  assert.equal((bad as PromiseRejectedResult).reason.file, "half.jpg");
});
