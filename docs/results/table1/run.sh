#!/usr/bin/env bash
# The runs of the paper's Table 1 comparison (docs/results/table1/README.md), one sweep after
# another, each resumable: run this script again after any stop and it continues (--resume).
#   bash docs/results/table1/run.sh [STORAGE]        # default STORAGE: sweeps
# Baselines' defaults of each algorithm, the 10M schedule, seeds 0 and 1; every run stops once
# the mean of 100 consecutive whole games reaches the paper's human level (--stop_reward human)
# or at the cap (A2C 8M, ACKTR 3M timesteps). Backend: ale_vector for every new run
# (docs/results/table1/README.md says why).
set -u
STORAGE=${1:-sweeps}
PY=${PYTHON:-python}

sweep() {  # NAME ALG ENV CAP SAVE_INTERVAL
    local args=(--envs "$3" --seeds 0 1 --alg "$2" --num_timesteps 10e6 --stop_timesteps "$4"
                --storage "$STORAGE" --name "$1")
    local run=(-- --env_backend ale_vector --stop_reward human --save_interval "$5")
    if [ -d "$STORAGE/$1" ]; then
        nice -n 10 "$PY" -m baselines_acktr.sweep "${args[@]}" --resume "${run[@]}"
    else
        nice -n 10 "$PY" -m baselines_acktr.sweep "${args[@]}" "${run[@]}"
    fi
}

sweep table1_a2c_pong a2c PongNoFrameskip-v4 8e6 2000
sweep table1_acktr_breakout acktr BreakoutNoFrameskip-v4 3e6 100
sweep table1_a2c_breakout a2c BreakoutNoFrameskip-v4 8e6 2000
