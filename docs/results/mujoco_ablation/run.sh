#!/usr/bin/env bash
# The MuJoCo ablation of issue 21 (docs/results/mujoco_ablation/README.md), one sweep after
# another, each resumable: run this script again after any stop and it continues (--resume).
#   bash docs/results/mujoco_ablation/run.sh [STORAGE]        # default STORAGE: sweeps
# Phase 1: knock-outs from the paper's variant, each = the paper with one group set to
# master's value (ContConfig's `ablation` fields and help), seed 0, stopped at 0.5M on the 1M
# schedule; the reference is the paper's own seeds at 0.5M (docs/results/sweep_mujoco_paper).
# Order: the groups with the strongest prior first; A (all groups) last.
# Phase 0: baselines master's continuous ACKTR, seeds 1 and 2 to 1M (its spread; seed 0 is
# docs/results/{hopper,halfcheetah}_master_seed0), with --log_kl.
# Phase 2: two more seeds of each knock-out that moves the score by >= 25% of the gap on either
# task, and master with those groups set to the branch's values, 1M x 3 seeds.
# The order below is the order they ran in; the comments say why it moved.
# Each trial's MuJoCo learner keeps about one core busy, so each sweep runs its Hopper and
# HalfCheetah trials side by side (--cpus_per_trial 1 on a 2-core machine).
set -u
STORAGE=${1:-sweeps}
PY=${PYTHON:-python}

sweep() {  # NAME VARIANT "SEEDS" STOP [run_mujoco.py flags...]
    local name=ablation_$1 variant=$2 seeds=$3 stop=$4
    shift 4
    # shellcheck disable=SC2086
    local args=(--envs Hopper-v5 HalfCheetah-v5 --seeds $seeds --variant "$variant"
                --num_timesteps 1e6 --stop_timesteps "$stop" --storage "$STORAGE" --name "$name"
                --cpus_per_trial 1)
    local resume=()
    [ -d "$STORAGE/$name" ] && resume=(--resume)
    nice -n 10 "$PY" -m baselines_acktr.sweep "${args[@]}" "${resume[@]}" -- --save_interval 10 "$@"
}

S1=(--stepsize_rule linear --stepsize 0.25 --kfac_clip 0.001 --cold_iter 10 --cold_lr_ratio 1
    --max_grad_norm 0.5 --kfac_update 1)           # master's policy optimiser and schedule
S2=(--ent_coef 0.01)                               # entropy bonus
S3=(--logstd_block per_sample)                     # log-std parameter and its K-FAC block
S4=(--vf_features obs)                             # value function sees the observation only
S5=(--lam 1 --standardize_adv false)               # n-step returns, raw advantages
S6=(--reward_norm true)                            # VecNormalize's return half
S7=(--policy_prev_obs false)                       # policy sees obs only
S8=("${S6[@]}" --vf_fit_iters 1 --vf_lr 0.25 --vf_kfac_clip 0.001 --vf_epsilon 0.01
    --vf_stats_decay 0.99 --vf_cold_iter 10 --vf_kfac_update 1)  # master-like VF steps
S9=(--vf_activation tanh --init ortho --weight_decay 0)           # low-prior bundle

sweep S2 paper 0 5e5 "${S2[@]}"
sweep S1 paper 0 5e5 "${S1[@]}"
# Phase 2, brought forward: S2 alone moved the score by about the whole gap on both tasks, so
# its two more seeds, and master with the branch's entropy bonus (none) at 1M x 3 seeds
sweep S2_seeds paper "1 2" 5e5 "${S2[@]}"
sweep master_ent0 master "0 1 2" 1e6 --ent_coef 0 --log_kl
# master without the bonus stayed at master's Hopper score (1025 and 1067 at 940k, seeds 0 and
# 1), so the bonus is not the whole story: the control and the knock-outs come next
# A control: the paper's defaults, seed 0, on this code (the 0.5M reference is the sweep of
# docs/results/sweep_mujoco_paper, run on older code with the same defaults)
sweep paper_control paper 0 5e5
# Phase 1 continued
sweep S4 paper 0 5e5 "${S4[@]}"
# the control's seed 0 ended below the reference's seeds on both tasks (Hopper 1131 at 475k,
# HalfCheetah 645): the control's seeds 1 and 2, a 3-seed reference on this code
sweep paper_control_seeds paper "1 2" 5e5
sweep S5 paper 0 5e5 "${S5[@]}"
sweep S3 paper 0 5e5 "${S3[@]}"
# S5 moved HalfCheetah by 77% of the gap (56 at 0.5M): its seeds 1 and 2
sweep S5_seeds paper "1 2" 5e5 "${S5[@]}"
sweep S6 paper 0 5e5 "${S6[@]}"
sweep S8 paper 0 5e5 "${S8[@]}"
sweep S7 paper 0 5e5 "${S7[@]}"
sweep S9 paper 0 5e5 "${S9[@]}"
# S8's value steps diverged on HalfCheetah at iteration 3 (master's cold-start gradient clip has
# no counterpart in the paper's value fit), so A takes master's return normalisation (S6) and
# leaves the value steps at the paper's
sweep A paper 0 5e5 "${S1[@]}" "${S2[@]}" "${S3[@]}" "${S4[@]}" "${S5[@]}" "${S6[@]}" \
    "${S7[@]}" "${S9[@]}"
# Phase 0: master's spread (the gap's other end has one HalfCheetah seed)
sweep master master "1 2" 1e6 --log_kl
# From here on the code is f710fef, which adds the value fit's cold-start switches
# (--vf_cold_lr_ratio, --vf_max_grad_norm; the defaults replay as before: parity)
# A (every group, S6 for S8) reached master's level on both tasks with one seed: its seeds 1 and
# 2 first, the verdict rests on it
sweep A_seeds paper "1 2" 5e5 "${S1[@]}" "${S2[@]}" "${S3[@]}" "${S4[@]}" "${S5[@]}" "${S6[@]}" \
    "${S7[@]}" "${S9[@]}"
# S8 diverged on HalfCheetah in its first value fit; S8m is S8 with the value fit's cold start as
# master runs it (full learning rate, gradient norm clipped at 0.5)
S8m=("${S8[@]}" --vf_cold_lr_ratio 1 --vf_max_grad_norm 0.5)
sweep S8m paper 0 5e5 "${S8m[@]}"
# Phase 2 for S1 too: master's policy optimiser moved HalfCheetah by -63% of the gap (above the
# paper's own score), so its two more seeds
sweep S1_seeds paper "1 2" 5e5 "${S1[@]}"
# Phase 2 for the one-seed rows that moved either task by >= 25% of the gap
sweep S9_seeds paper "1 2" 5e5 "${S9[@]}"
# Phase 3, sufficiency: the anchor A with the groups that moved the score toward master (S2,
# S5, S9) back at the paper's values, i.e. the paper's variant with every other group at
# master's (S8m for S6 and the value steps), 1M x 3 seeds: if it scores as the paper's, the
# three groups are sufficient as well as necessary together; it comes before the remaining
# seeds, as it covers their groups together at 1M
sweep B paper "0 1 2" 1e6 "${S1[@]}" "${S3[@]}" "${S4[@]}" "${S7[@]}" "${S8m[@]}"
# S9 put Hopper below master (631, 381, 363 at 0.5M, seeds 0-2): its three changes one by one
sweep S9_tanh paper 0 5e5 --vf_activation tanh
sweep S9_ortho paper 0 5e5 --init ortho
sweep S9_wd0 paper 0 5e5 --weight_decay 0
# B stalled between 0.5M and 1M (Hopper 1213, 2117, 1414 at 1M; HalfCheetah seed 0 1122) while
# its policy KL per update fell tenfold: master's linear step-size decay (S1), whose cost the 0.5M
# knock-outs could not see. B2 is B with the paper's policy step back (S1 out), 1M x 3 seeds
sweep B2 paper "0 1 2" 1e6 "${S3[@]}" "${S4[@]}" "${S7[@]}" "${S8m[@]}"
# Deferred until Table 1 (docs/results/table1/run.sh) has run, as B covers these groups together
# at 1M: more seeds of the one-seed rows that moved a task up by >= 25% of the gap
# sweep S8m_seeds paper "1 2" 5e5 "${S8m[@]}"
# sweep S6_seeds paper "1 2" 5e5 "${S6[@]}"
# sweep S7_seeds paper "1 2" 5e5 "${S7[@]}"
# The entropy bonus hurts the paper's variant (S2) but taking it out of master does not help
# (master_ent0). A reading to test: the bonus hurts against standardised advantages. Master's
# returns cannot be switched to the paper's (--lam is the paper's only), so the test runs in the
# paper's variant: S2 and S5 together, 3 seeds; if the reading holds, S2 costs little there
# (deferred with the seeds above)
# sweep S2S5 paper "0 1 2" 5e5 "${S2[@]}" "${S5[@]}"
