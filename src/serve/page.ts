/**
 * The server's `GET /` page: one self-contained HTML file (no external resources). Choosing an image
 * POSTs it to `/predict?format=json` and draws the image, then each mask (its RLE decoded in the page,
 * translucent in Ultralytics' palette, letterbox padding cut off), then the boxes and `name conf` labels,
 * on a canvas. `body[data-state]` says `idle`, `busy`, `done` or `error`; the last response is
 * `window.lastResult`.
 * @module
 */
import { PALETTE } from "../plot/colors.ts";

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/**
 * The page's HTML.
 *
 * @param model The model's name, shown in the title.
 * @param imgsz The server's default image size, the page's initial `imgsz`.
 * @returns The whole document.
 */
export function pageHtml(model: string, imgsz: number): string {
  const name = escapeHtml(model);
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>yolo-wgsl · ${name}</title>
<style>
  body { font: 15px system-ui, sans-serif; margin: 1.5rem; color: #1b1b1b; }
  h1 { font-size: 1.3rem; margin: 0 0 0.5rem; }
  label { margin-right: 1rem; }
  input[type=number] { width: 5rem; }
  #status { margin: 0.75rem 0; color: #555; min-height: 1.2em; }
  #status.error { color: #b00020; }
  canvas { display: block; max-width: 100%; }
</style>
</head>
<body data-state="idle">
<h1>yolo-wgsl · ${name}</h1>
<p>
  <input id="file" type="file" accept="image/jpeg,image/png">
  <label>conf <input id="conf" type="number" min="0" max="1" step="0.05" value="0.25"></label>
  <label>imgsz <input id="imgsz" type="number" min="32" step="32" value="${imgsz}"></label>
</p>
<div id="status">Choose a JPEG or PNG image.</div>
<canvas id="canvas" width="0" height="0"></canvas>
<script>
"use strict";
const PALETTE = ${JSON.stringify(PALETTE)};
const $ = (id) => document.getElementById(id);
const color = (c) => PALETTE[c % PALETTE.length];

function say(text, state) {
  $("status").textContent = text;
  $("status").className = state === "error" ? "error" : "";
  document.body.dataset.state = state;
}

/** Row-major runs of 0s and 1s, starting with 0s. */
function decodeRle(rle) {
  const [h, w] = rle.size;
  const mask = new Uint8Array(h * w);
  let at = 0;
  rle.counts.forEach((run, i) => {
    if (i % 2 === 1) mask.fill(1, at, at + run);
    at += run;
  });
  return mask;
}

function drawMasks(ctx, r) {
  const [h, w] = r.orig_shape;
  const [H, W] = r.letterbox_shape;
  const gain = Math.min(H / h, W / w);
  const uw = Math.round(w * gain), uh = Math.round(h * gain);
  r.masks.forEach((rle, i) => {
    const [mh, mw] = rle.size;
    const bits = decodeRle(rle);
    const [cr, cg, cb] = color(r.cls[i]);
    const pixels = new ImageData(mw, mh);
    for (let j = 0; j < bits.length; j++) {
      if (!bits[j]) continue;
      pixels.data.set([cr, cg, cb, 128], 4 * j);
    }
    const layer = document.createElement("canvas");
    layer.width = mw;
    layer.height = mh;
    layer.getContext("2d").putImageData(pixels, 0, 0);
    // Letterbox-resolution masks: cut the padding off, stretch to the image (retina masks fit as they are).
    if (mh === h && mw === w) ctx.drawImage(layer, 0, 0);
    else ctx.drawImage(layer, (mw - uw) / 2, (mh - uh) / 2, uw, uh, 0, 0, w, h);
  });
}

function drawBoxes(ctx, r) {
  const [h, w] = r.orig_shape;
  const lw = Math.max(Math.round((h + w) / 2 * 0.003), 2);
  ctx.lineWidth = lw;
  ctx.font = \`\${Math.max(12, 5 * lw)}px system-ui, sans-serif\`;
  ctx.textBaseline = "bottom";
  for (let i = r.conf.length - 1; i >= 0; i--) {
    const [x1, y1, x2, y2] = r.boxes_xyxy[i];
    const css = \`rgb(\${color(r.cls[i]).join(",")})\`;
    ctx.strokeStyle = css;
    ctx.strokeRect(x1, y1, x2 - x1, y2 - y1);
    const label = \`\${r.names[r.cls[i]] ?? r.cls[i]} \${r.conf[i].toFixed(2)}\`;
    const tw = ctx.measureText(label).width + 2 * lw;
    const th = Math.max(12, 5 * lw) + lw;
    const ty = y1 - th < 0 ? y1 + th : y1;
    ctx.fillStyle = css;
    ctx.fillRect(x1 - lw / 2, ty - th, tw, th);
    ctx.fillStyle = "#fff";
    ctx.fillText(label, x1 + lw / 2, ty - lw / 2);
  }
}

async function predict(file) {
  say(\`Predicting \${file.name}...\`, "busy");
  const query = new URLSearchParams({ format: "json", conf: $("conf").value, imgsz: $("imgsz").value });
  const t0 = performance.now();
  const res = await fetch(\`predict?\${query}\`, {
    method: "POST",
    body: file,
    headers: { "content-type": file.type || "application/octet-stream" },
  });
  const r = await res.json();
  if (!res.ok) throw new Error(r.error ?? res.statusText);
  const image = await createImageBitmap(file);
  const canvas = $("canvas");
  [canvas.height, canvas.width] = r.orig_shape;
  const ctx = canvas.getContext("2d");
  ctx.drawImage(image, 0, 0, canvas.width, canvas.height);
  drawMasks(ctx, r);
  drawBoxes(ctx, r);
  window.lastResult = r;
  const ms = (performance.now() - t0).toFixed(0);
  const s = r.speed;
  say(
    \`\${r.conf.length} detections in \${ms} ms (\${s.preprocess.toFixed(1)} ms preprocess, \` +
      \`\${s.inference.toFixed(1)} ms inference, \${s.postprocess.toFixed(1)} ms postprocess at \` +
      \`\${r.letterbox_shape.join("x")})\`,
    "done",
  );
}

$("file").addEventListener("change", () => {
  const file = $("file").files[0];
  if (file) predict(file).catch((e) => say(String(e.message ?? e), "error"));
});
</script>
</body>
</html>
`;
}
