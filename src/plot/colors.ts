/**
 * Ultralytics 8.3.159's plotting palette (`ultralytics.utils.plotting.Colors`) and the label text color
 * rule of `Annotator.get_txt_color`, in RGB.
 *
 * 8.3.x uses the 20-color brand palette below (the older `FF3838, FF9D97, ...` list belonged to YOLOv5 /
 * 8.0). The text color is not computed from brightness: Ultralytics lists the palette entries that are
 * light (dark navy text, `(17, 31, 104)` in RGB) and the ones that are dark (white text); any other color
 * keeps white.
 * @module
 */

/** An RGB triple, 0..255. */
export type Rgb = readonly [number, number, number];

const HEX = [
  "042AFF",
  "0BDBEB",
  "F3F3F3",
  "00DFB7",
  "111F68",
  "FF6FDD",
  "FF444F",
  "CCED00",
  "00F344",
  "BD00FF",
  "00B4FF",
  "DD00BA",
  "00FFFF",
  "26C000",
  "01FFB3",
  "7D24FF",
  "7B0068",
  "FF1B6C",
  "FC6D2F",
  "A2FF0B",
]; // deno-fmt-ignore

const hexRgb = (h: string): Rgb => [0, 2, 4].map((i) => parseInt(h.slice(i, i + 2), 16)) as unknown as Rgb;

/** The 20 palette colors, RGB, in Ultralytics' order. */
export const PALETTE: readonly Rgb[] = HEX.map(hexRgb);

/** Palette entries that get dark text (`Annotator.dark_colors`, there in BGR). */
const LIGHT_BACKGROUNDS = new Set([
  "0BDBEB",
  "F3F3F3",
  "00DFB7",
  "FF6FDD",
  "CCED00",
  "00F344",
  "00FFFF",
  "01FFB3",
  "A2FF0B",
]); // deno-fmt-ignore

/** The dark text color (`(104, 31, 17)` BGR in Ultralytics). */
export const DARK_TEXT: Rgb = [17, 31, 104];
/** The default (white) text color. */
export const WHITE: Rgb = [255, 255, 255];

/** The color of class (or instance) `i`: `PALETTE[i % 20]` (Ultralytics' `colors(i)`). */
export function classColor(i: number): Rgb {
  const n = PALETTE.length;
  return PALETTE[((Math.trunc(i) % n) + n) % n];
}

/** The label text color on a background `color`: dark on the light palette entries, white otherwise. */
export function textColor(color: Rgb): Rgb {
  const hex = color.map((v) => v.toString(16).padStart(2, "0")).join("").toUpperCase();
  return LIGHT_BACKGROUNDS.has(hex) ? DARK_TEXT : WHITE;
}
