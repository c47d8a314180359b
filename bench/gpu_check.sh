#!/usr/bin/env bash
# GPU check, as one prepared script for a machine with CUDA (never part of the tests or CI):
# the paper's two commands for one epoch of pose-net training on the synthetic dataset, then the
# lifter benchmark with and without bf16 autocast and torch.compile. Prints epoch times, samples/s
# and peak GPU memory. Usage: bash bench/gpu_check.sh [python]   (from the repository root)
set -euo pipefail
PY=${1:-.venv/bin/python}
OUT=${OUT:-/tmp/dhaug_gpu_check}
mkdir -p "$OUT"
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader || true
"$PY" -c "import torch; print('torch', torch.__version__, 'cuda', torch.version.cuda, torch.cuda.get_device_name(0))"

SINGLE="--note posefk --posenet_name videopose --lr_p 1e-4 --checkpoint $OUT/checkpoint --keypoints gt --s1only False --GAN_whether_use_preAngle True --video_over_200mm False --batch_size 1024 --data_enhancement_method GAN --additional_LR_decay 0.95 --Gen_DenseDim 256 --Dis_DenseDim_3D 256 --Dis_DenseDim_2D 256"
VIDEO="--note posefk --posenet_name mulit_farme_videopose --lr_p 1e-3 --checkpoint $OUT/checkpoint --keypoints gt --s1only False --GAN_whether_use_preAngle True --single_or_multi_train_mode multi --video_over_200mm False --batch_size 512 --data_enhancement_method GAN --downsample 10 --additional_LR_decay 0.95 --warmup 20 --single_dis_warmup_epoch 4 --architecture 3,3"
DATA="--dataset synthetic --data_dir $OUT/data --device cuda"

echo "== paper single-frame command, synthetic, GAN epoch 0 + one pose-net epoch"
/usr/bin/time -f "wall %e s" "$PY" run_fk_gan.py $SINGLE $DATA --epochs 2 --additional_train_epoch 0 --warmup 0 \
  2>&1 | grep -E "^epoch [0-9]+:|wall|run folder"
echo "== paper video command, synthetic, two GAN epochs + one pose-net epoch"
/usr/bin/time -f "wall %e s" "$PY" run_fk_gan.py $VIDEO $DATA --epochs 2 --additional_train_epoch 0 --warmup 0 --single_dis_warmup_epoch 1 \
  2>&1 | grep -E "^epoch [0-9]+:|wall|run folder"
for flags in "" "--amp bf16" "--compile True" "--amp bf16 --compile True"; do
  echo "== bench/bench_lifters.py --device cuda $flags"
  "$PY" bench/bench_lifters.py --device cuda --quick $flags
done
