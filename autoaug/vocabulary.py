"""The names shared across layers: metric keys, MLflow tags, trial keys and Optuna user attributes.

A value recorded in one layer and read in another is named here once, so that the writer and the
reader cannot drift apart. No imports: every layer may use it.
"""

from __future__ import annotations

DEFAULT_MODALITY = "image"
"""The modality of a policy file, a search space or a configuration that names none."""
EXPORT_FORMATS = ("torchvision", "timm", "albumentations", "kornia")
"""The libraries ``autoaug export --format`` writes a policy for, from their own transforms."""
FILES_TASK = "files"
"""The embedding task of the user's own files (``train_file``, ``val_file``, ...)."""

# --- metric keys: what a trial reports every epoch and what its MLflow run records ---------------
VAL_ACCURACY = "val_accuracy"
"""Target-validation accuracy: what trials are ranked by, never the held-out test split."""
TEST_ACCURACY = "test_accuracy"
"""Held-out target test accuracy, scored once per finished fine-tune for the final report."""
TEST_MACRO_F1 = "test_macro_f1"
TRAIN_LOSS = "train_loss"
AFFINITY = "affinity"
DIVERSITY = "diversity"
FEATURE_RELEVANCE = "feature_relevance"
FEATURE_DIVERSITY = "feature_diversity"
REFERENCE_LOSS_RATIO = "reference_loss_ratio"
SCREEN_SCORE = "screen_score"
MEASURES = (AFFINITY, DIVERSITY, FEATURE_RELEVANCE, FEATURE_DIVERSITY)
"""The names every trial's measures are recorded under."""
OBJECTIVE_METRICS = {"accuracy": (VAL_ACCURACY,), "multi": (VAL_ACCURACY, AFFINITY, DIVERSITY)}
"""What each search objective maximises; the first metric ranks the trials and is reported by."""

# --- trial keys: the Ray Tune trial config and what a trial reports besides metrics ---------------
POLICY_KEY = "policy_json"
"""The trial's policy as policy-file JSON."""
BASELINE_KEY = "baseline"
"""The baseline a trial runs (absent for searched trials)."""
SCREEN_RANK = "screen_rank"
"""A screened candidate's rank (absent for trials the screen did not queue)."""
NODE_KEY = "node_id"
"""The Ray node that ran the trial."""

# --- Optuna user attributes of the study's trials --------------------------------------------------
TUNE_TRIAL_ATTR = "tune_trial_id"
FAIL_REASON_ATTR = "fail_reason"
BASELINE_ATTR = "baseline"
DUPLICATE_ATTR = "duplicate_of"
TARGET_MATCH_ATTR = "target_match_probability"
"""The probability a target-matching proposal applies its chain at (absent for other trials)."""

# --- MLflow tags -------------------------------------------------------------------------------------
TAG_SEARCH = "autoaug.search"
TAG_ROLE = "autoaug.role"
TAG_OUTCOME = "autoaug.outcome"
TAG_BASELINE = "autoaug.baseline"
TAG_TRIAL_ID = "autoaug.trial_id"
TAG_REASON = "autoaug.failure_reason"
TAG_HEADLINE = "autoaug.policy_headline"
TAG_NODE = "autoaug.node_id"
TAG_RETRIES = "autoaug.retries"
TAG_REPEAT_OF = "autoaug.repeat_of"
TAG_PICK = "autoaug.pick"
TAG_PICK_RUN = "autoaug.pick_run_id"
TAG_VERDICT = "autoaug.verdict"
TAG_BEST_BASELINE = "autoaug.best_baseline"
TAG_SOURCE_RUN = "autoaug.source_run_id"
TAG_SOURCE_SEARCH = "autoaug.source_search"
TAG_CHECKED = "autoaug.store_checked"
TAG_VERSION = "autoaug.version"
"""The autoaug version that wrote a run."""
TAG_PROCESS = "autoaug.process"
"""The process that writes an evaluation run (host/boot/pid/start), so a later command can tell it was killed."""
TAG_POLICY = "policy"
"""A trial run's policy, described on one line."""
