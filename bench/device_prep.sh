#!/usr/bin/env bash
# Prepare the ignored .gpu/ folder for a run on the device tool's GPU machine (no network there):
# ../shared/tools/gpu-prep.sh (Deno, the Vulkan loader, the shared files named below), plus .gpu/deno_dir, a
# Deno cache holding only the library's npm packages (a few MB; onnxruntime does not fit the 64 MiB carry, so
# the peer and the ONNX parity tests stay on this machine). Run from the project root, then call the device
# tool with carry [".gpu"] and the command this script prints.
set -euo pipefail
cd "$(git rev-parse --show-toplevel)"
bash ../shared/tools/gpu-prep.sh models/yolo11n-seg-c128.pt images/bus.jpg images/zidane.jpg \
  datasets/coco8-seg.yaml datasets/coco8-seg refs/yolo11n-seg-c128.json \
  datasets/coco128-seg.yaml datasets/coco128-seg
DENO_DIR=.gpu/deno_dir deno cache --config bench/device.json mod.ts bench/forward.ts bench/attention.ts bench/dispatch.ts bench/gap.ts bench/tune_summary.ts \
  bench/decode.ts bench/postprocess.ts bench/gpu_postprocess.ts bench/save.ts bench/val_cpu.ts tests/kernels/*_test.ts \
  tests/gpu/*_test.ts tests/data/letterbox_gpu_test.ts tests/e2e/predict_test.ts tests/e2e/val_test.ts >/dev/null
du -sh .gpu .gpu/deno_dir
run="env DENO_DIR=.gpu/deno_dir deno run -A --cached-only --config bench/device.json"
test="env DENO_DIR=.gpu/deno_dir deno test -A --cached-only --config bench/device.json"
echo "device command (timeout_s ~590; each step bounded so a slow one does not eat the rest; cold tuning of one"
echo "shape took 20-45 s there before BUFFERS 2 and WG_K added candidates, so each tuning step gets room for it;"
echo "the fold tuner builds and times up to 6 programs per shape on top (its folds: line), so bench/forward.ts gets 250 s;"
echo "the scales step of earlier runs does not fit the 600 s per call with these, run it alone when needed:"
echo "  date +%T; timeout 300 \$run bench/forward.ts --no-peer --scales s,m,l,x --iterations 10):"
echo "bash .gpu/gpu-env.sh bash -c 'nvidia-smi -L; export YOLO_WGSL_CACHE_DIR=\$OUT/cache; \\"
echo "  nvidia-smi --query-gpu=timestamp,clocks.sm,clocks.mem,power.draw,power.limit,temperature.gpu,utilization.gpu,clocks_throttle_reasons.active --format=csv -lms 250 >\$OUT/smi.csv 2>&1 & smi=\$!; \\"
echo "  timeout 90 $test --filter \"/WG_K|VEC_A|f16_math|BUFFERS|grouped|split|KV|attention|pre-conv|post-conv|upsampled|POST_CAT|positional/\" tests/kernels/conv2d_test.ts tests/kernels/conv2d_splitk_reduce_test.ts tests/kernels/attention_test.ts tests/kernels/attention_rows_test.ts 2>&1 | grep -E \"passed|FAIL\"; \\"
echo "  timeout 30 $run bench/attention.ts; timeout 30 $run bench/attention.ts --batch 32; timeout 30 $run bench/dispatch.ts; timeout 25 $run bench/gap.ts --mb 100; date +%T; timeout 250 $run bench/forward.ts --no-peer --iterations 20 --batch 1,32 --inflight 4 --profile --predict; \\"
echo "  timeout 50 $test tests/e2e/predict_test.ts 2>&1 | grep -E \"passed|FAIL|worst\"; \\"
echo "  date +%T; timeout 130 $run bench/forward.ts --no-peer --half --batch 1,32 --iterations 20 --profile; \\"
echo "  $run bench/tune_summary.ts \$OUT/cache/tune.json; kill \$smi'"
echo
echo "CPU command (~250 s; the thread pool's gains on that machine's CPUs: decoding, a batch's post-processing,"
echo "GPU vs CPU post-processing of one image, saving annotated images, val's CPU work with the forward replayed;"
echo "then the forward with every layer in its own dispatch, --no-fuse, to compare with the main command's),"
echo "when device time is left after the first:"
echo "bash .gpu/gpu-env.sh bash -c 'nproc; export YOLO_WGSL_CACHE_DIR=\$OUT/cache; \\"
echo "  timeout 20 $run bench/decode.ts; timeout 30 $run bench/postprocess.ts --batch 32; timeout 30 $run bench/gpu_postprocess.ts --runs 50; timeout 30 $run bench/save.ts; \\"
echo "  timeout 60 $run bench/val_cpu.ts --runs 1; timeout 150 $run bench/forward.ts --no-peer --no-fuse --batch 1,32 --iterations 20'"
