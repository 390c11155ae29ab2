"""The names autopeft writes into Optuna's schema: one place, used by every reader and writer.

A study's metadata is the study user attribute :data:`META_KEY`; a trial's record is a handful
of trial user attributes (:data:`TRIAL_KEYS`). Nothing outside :mod:`autopeft.store` spells
these strings: the search loop, the CLI and the dashboard go through
:class:`~autopeft.store.study.StudyStore` and :class:`~autopeft.store.trial.TrialRecord`.
"""

from __future__ import annotations

#: Study user attribute holding the study's metadata (:func:`autopeft.store.records.study_metadata`).
META_KEY = "autopeft"

# Trial user attributes.
CONFIG = "config"
RESULT = "result"
TIMINGS = "timings"
WORKER = "worker"
ERROR = "error"
BASELINE = "baseline"
RETRY_OF = "retry_of"
ATTEMPT = "attempt"
RETRY_REASON = "retry_reason"
REJECTED = "rejected"
WARM_START_FROM = "warm_start_from"
#: Multi-fidelity (``--scheduler asha``): the full budget's training steps, and the index
#: (0 = the lowest) of the highest rung the trial reached. The score at each rung is an Optuna
#: intermediate value keyed by the rung's step count (``trial.intermediate_values``).
TOTAL_STEPS = "total_steps"
RUNG = "rung"
#: Why the scheduler stopped the trial at its rung (a PRUNED trial without it was rejected untrained).
STOPPED = "stopped"

#: Trial user attributes written by the search loop, and what each holds.
TRIAL_KEYS = {
    CONFIG: "the full PeftConfig as PeftConfig.to_dict()",
    RESULT: "every field of the TrialResult (score, metrics, PEFT params with the task head excluded, head params, "
            "bytes, memory, majority share and chance score of the predictions, timings, status, error), plus any "
            "other JSON field the objective returned (a failed trial's traceback)",
    TIMINGS: "driver-side timings: queued, started and finished times, wall seconds on the worker",
    WORKER: "host, node IP and process id of the worker that ran the trial, and the driver's host and pid",
    ERROR: "why the trial failed (worker death, exception text, interruption)",
    BASELINE: "name of the hand-designed baseline this trial evaluates (no suggested params)",
    RETRY_OF: "number of the trial this one re-runs after a worker or driver died",
    ATTEMPT: "1 for a first run, 2 for its retry",
    RETRY_REASON: "why the trial this one re-runs failed",
    REJECTED: "why the config was not trained (over --max-params, or over budget)",
    WARM_START_FROM: "STUDY#NUMBER of the earlier study's trial whose params this one re-evaluates",
    TOTAL_STEPS: "training steps of the fidelity's whole budget (multi-fidelity trials; the rung scores are Optuna "
                 "intermediate values keyed by step)",
    RUNG: "index of the highest rung the trial reached (0 = the lowest; multi-fidelity trials)",
    STOPPED: "why the multi-fidelity scheduler stopped the trial at its rung (PRUNED with its intermediate values)",
}

# Calibrations (:mod:`autopeft.store.calibrations`): the study attribute holding the summary,
# and the trial attributes of one run (its result is stored under RESULT).
CALIBRATION_KEY = "autopeft_calibration"
CALIBRATION_CONFIG = "calibration_config"
CALIBRATION_FIDELITY = "fidelity"
CALIBRATION_SEED = "seed"
