"""The search, the only layer that runs Ray and Optuna: the driver, the trainable, the searcher, early
stopping, screening, the confirmation stage and resuming.

A search is :func:`prepare_search` (every input checked before any worker starts) then
:func:`run_search`. Search spaces (YAML files, ``autoaug/search_spaces``) turn into define-by-run
Optuna suggestions here.
"""

from __future__ import annotations

from autoaug.tuning._driver import SearchOutcome, print_line, run_search
from autoaug.tuning._prepared import PreparedSearch, prepare_search
from autoaug.tuning._resume import RESUME_FLAGS, recorded_config
from autoaug.tuning._searcher import PolicySearcher
from autoaug.tuning._space import SearchSpace, builtin_spaces, load_space, resolve_space_path, stack
from autoaug.tuning._study import serve_dashboard, stored_studies, study_storage_url
from autoaug.tuning._study_plots import write_stored_study_plots, write_study_plots

__all__ = [
    "RESUME_FLAGS",
    "PolicySearcher",
    "PreparedSearch",
    "SearchOutcome",
    "SearchSpace",
    "builtin_spaces",
    "load_space",
    "prepare_search",
    "print_line",
    "recorded_config",
    "resolve_space_path",
    "run_search",
    "serve_dashboard",
    "stack",
    "stored_studies",
    "study_storage_url",
    "write_stored_study_plots",
    "write_study_plots",
]
