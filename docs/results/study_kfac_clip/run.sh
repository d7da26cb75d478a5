#!/usr/bin/env bash
# A small study (docs/results/study_kfac_clip/README.md): baselines master's ACKTR on Hopper-v5,
# kfac_clip x {0.0005, 0.001, 0.002} x seeds {0, 1}, 500k timesteps each (its own schedule),
# about an hour of a 2-core CPU in all. Run again after any stop: it resumes (--resume).
#   bash docs/results/study_kfac_clip/run.sh [STORAGE]        # default STORAGE: sweeps
set -u
STORAGE=${1:-sweeps}
PY=${PYTHON:-python}
args=(--envs Hopper-v5 --seeds 0 1 --num_timesteps 5e5 --grid kfac_clip=0.0005,0.001,0.002
      --storage "$STORAGE" --name study_kfac_clip)
resume=()
[ -d "$STORAGE/study_kfac_clip" ] && resume=(--resume)
nice -n 10 "$PY" -m baselines_acktr.sweep "${args[@]}" "${resume[@]}" -- --save_interval 10
