#!/usr/bin/env bash
# Prepare the ignored .gpu/ folder for a run on the device tool's GPU machine (no network there):
# ../shared/tools/gpu-prep.sh (Deno, the Vulkan loader, the shared files named below), plus .gpu/deno_dir, a
# Deno cache holding only the library's npm packages (a few MB; onnxruntime does not fit the 64 MiB carry, so
# the peer and the ONNX parity tests stay on this machine). Run from the project root, then call the device
# tool with carry [".gpu"] and the command this script prints (bench/device_run.sh).
set -euo pipefail
cd "$(git rev-parse --show-toplevel)"
bash ../shared/tools/gpu-prep.sh models/yolo11n-seg-c128.pt images/bus.jpg images/zidane.jpg \
  datasets/coco8-seg.yaml datasets/coco8-seg refs/yolo11n-seg-c128.json \
  datasets/coco128-seg.yaml datasets/coco128-seg
DENO_DIR=.gpu/deno_dir deno cache --config bench/device.json mod.ts bench/forward.ts bench/folds.ts bench/attention.ts bench/dispatch.ts bench/gap.ts bench/tune_summary.ts \
  bench/decode.ts bench/postprocess.ts bench/gpu_postprocess.ts bench/save.ts bench/val_cpu.ts tests/kernels/*_test.ts \
  tests/gpu/*_test.ts tests/data/letterbox_gpu_test.ts tests/e2e/predict_test.ts tests/e2e/val_test.ts >/dev/null
# Dawn (webgpu=dawn, npm:webgpu; imported by mod.ts on demand): only its linux-x64 build, xz-compressed
# (21 -> 5 MB; device_run.sh unpacks it). Deno's own caches of compiled code are left out: it rebuilds them.
dawn=.gpu/deno_dir/npm/registry.npmjs.org/webgpu/0.6.2/dist
find "$dawn" -mindepth 1 -maxdepth 1 ! -name linux-x64 -exec rm -rf {} +
xz -T0 -9 -f "$dawn/linux-x64/dawn.node"
rm -rf .gpu/deno_dir/v8_code_cache_v2* .gpu/deno_dir/*-wal .gpu/deno_dir/*-shm .gpu/deno_dir/gen
du -sh .gpu .gpu/deno_dir
echo "device command (carry [\".gpu\"], timeout_s ~600; bench/device_run.sh runs the steps in priority order,"
echo "each bounded, each log in \$OUT, and starts none with under 20 s of its 570 s budget left; a first tuning"
echo "of a shape (tiles, attention, then the fold tuner's up to 7 programs) takes minutes there, cached after):"
echo "  bash .gpu/gpu-env.sh bash bench/device_run.sh main"
echo "then, with device time left (the unfolded forward at batch 1 and 32 to compare, and the host side):"
echo "  bash .gpu/gpu-env.sh bash bench/device_run.sh cpu"
