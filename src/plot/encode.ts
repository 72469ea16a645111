/**
 * Annotated images out: RGB pixels encoded as the source's format (JPEG at quality 95, OpenCV's
 * `imwrite` default, through our baseline encoder `jpeg_encode.ts`; PNG through `@jsquash/png`, opaque
 * RGBA) and written atomically.
 * @module
 */
import { encodePngWasm } from "../_deps.ts";
import { encodeJpeg } from "./jpeg_encode.ts";
import { dirname, extname, join } from "node:path";
import type { Image } from "../io/image.ts";

/** The formats an annotated image can be written as. */
export type ImageFormat = "jpeg" | "png";

/** The format for a file name, by extension (`.png` is PNG; anything else JPEG, as predict names it). */
export function formatOf(file: string): ImageFormat {
  return extname(file).toLowerCase() === ".png" ? "png" : "jpeg";
}

/** RGB to opaque RGBA in the `ImageData` shape the encoders take. */
function imageData(img: Image): ImageData {
  const n = img.width * img.height;
  const rgba = new Uint8ClampedArray(4 * n);
  for (let i = 0; i < n; i++) {
    rgba[4 * i] = img.data[3 * i];
    rgba[4 * i + 1] = img.data[3 * i + 1];
    rgba[4 * i + 2] = img.data[3 * i + 2];
    rgba[4 * i + 3] = 255;
  }
  return { data: rgba, width: img.width, height: img.height, colorSpace: "srgb" } as ImageData;
}

/**
 * Encodes an RGB image.
 *
 * @param img The pixels.
 * @param format `"jpeg"` (quality 95) or `"png"`.
 * @returns The file's bytes.
 */
export async function encodeImage(img: Image, format: ImageFormat): Promise<Uint8Array> {
  if (format === "jpeg") return encodeJpeg(img, 95);
  return new Uint8Array(await encodePngWasm(imageData(img)));
}

/**
 * Encodes an RGB image by the file's extension and writes it atomically (a temporary file in the same
 * folder, then a rename).
 *
 * @param path The destination (`.png` → PNG, otherwise JPEG).
 * @param img The pixels.
 */
export async function saveImage(path: string, img: Image): Promise<void> {
  const bytes = await encodeImage(img, formatOf(path));
  const tmp = join(dirname(path), `.${crypto.randomUUID()}.tmp`);
  try {
    await Deno.writeFile(tmp, bytes);
    await Deno.rename(tmp, path);
  } catch (e) {
    await Deno.remove(tmp).catch(() => {});
    throw e;
  }
}
