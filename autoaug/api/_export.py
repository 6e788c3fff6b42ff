"""``export``: a search's picked policy written as JSON and, where its modality has one, as standalone source."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

from autoaug.api._result import SearchResult
from autoaug.api._search import DEFAULT_EXPERIMENT, recorded_search
from autoaug.errors import ConfigError
from autoaug.modalities import get_modality
from autoaug.policy import Policy, PolicyMetadata, save_policy
from autoaug.results import Choice, TrialRow
from autoaug.vocabulary import TAG_BEST_BASELINE, TAG_VERDICT


@dataclass(frozen=True)
class ExportedPolicy:
    """A policy ``export`` wrote, with its scores in ``policy.metadata``.

    Attributes:
        search: The search's name.
        choice: The trial the pick chose, and why.
        policy: The policy as written (load the file with ``autoaug.load_policy``).
        path: The policy JSON file.
        snippet: The standalone source file (for images a torchvision-only one, or the library's), None when the
            modality has none.
    """

    search: str
    choice: Choice
    policy: Policy
    path: Path
    snippet: Path | None


def export(
    search: str | SearchResult | None = None,
    output: str | Path = "best_policy.json",
    pick: str = "best",
    tracking_uri: str | None = None,
    experiment: str = DEFAULT_EXPERIMENT,
    library: str | None = None,
) -> ExportedPolicy:
    """Write the policy ``pick`` chooses among a search's trials, as ``autoaug export`` does.

    The JSON file carries the trial's scores (and, after a confirmation stage, its paired gap to the best
    baseline); beside it, with the suffix ``.py``, the standalone source where the modality has one, or with
    ``library`` the policy built from that library's own transforms. Nothing is written when a step cannot be
    reproduced exactly there.

    Args:
        search: The search: its name, the :class:`SearchResult` of ``autoaug.search`` or ``autoaug.trials`` (its
            store and experiment are used), or None for the latest search.
        output: The policy JSON file to write (its folder is created).
        pick: ``best``, ``pareto`` or ``knee`` (see :meth:`SearchResult.choose`).
        tracking_uri: The MLflow store of a search given by name (default: ``$MLFLOW_TRACKING_URI``, else
            ``sqlite:///mlruns/mlflow.db``); nothing is created.
        experiment: The MLflow experiment of a search given by name.
        library: ``torchvision``, ``timm``, ``albumentations`` or ``kornia`` (``autoaug export --format``); None
            for autoaug's own standalone source.

    Raises:
        ConfigError: No such store, search or pick, or the files cannot be written.
        ExportError: A step of the policy has no exact counterpart in ``library`` (each one is named).

    Example:
        >>> exported = autoaug.export(result, "knee_policy.json", pick="knee")  # doctest: +SKIP
        >>> transform = autoaug.load_policy(exported.path)  # doctest: +SKIP
    """
    from autoaug.records import read_trial_policy  # here: MLflow loads on reading

    if isinstance(search, SearchResult):
        search, tracking_uri, experiment = search.name, search.tracking_uri, search.experiment
    client, parent, recorded = recorded_search(search, tracking_uri, experiment)
    choice = recorded.choose(pick)
    metadata = _export_metadata(choice.row, recorded.name, pick, parent.data.tags, parent.data.metrics)
    policy = dataclasses.replace(read_trial_policy(client, client.get_run(choice.row.run_id)), metadata=metadata)
    output = Path(output)
    modality = get_modality(policy.modality)
    source = modality.standalone_source(policy) if library is None else modality.library_source(policy, library)
    snippet = output.with_suffix(".py")
    try:
        output.parent.mkdir(parents=True, exist_ok=True)
        save_policy(policy, output)
        if source is not None:
            snippet.write_text(source, encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot write {output} or {snippet} ({exc.strerror}): choose another -o") from None
    return ExportedPolicy(recorded.name, choice, policy, output, snippet if source is not None else None)


def _export_metadata(
    row: TrialRow, search: str, pick: str, parent_tags: dict[str, str], parent_metrics: dict[str, float]
) -> PolicyMetadata:
    """The exported trial's scores and, after a confirmation stage, its paired gap to the best baseline.

    A baseline pick has no gap of its own (it is the best baseline); its file still names the seeds' count.
    """
    texts = {"search": search, "trial": row.name, "run_id": row.run_id, "pick": pick}
    if TAG_VERDICT not in parent_tags:
        return PolicyMetadata.from_scores(row.metrics, **texts)
    gap = {f"gap_{key}": row.metrics[f"confirm_gap_{key}"] for key in ("mean", "std", "ci_low", "ci_high")
           if f"confirm_gap_{key}" in row.metrics}
    seeds = row.metrics.get("confirm_gap_n", parent_metrics.get("confirm_seeds"))
    metadata = PolicyMetadata.from_scores(
        row.metrics, **texts, best_baseline=parent_tags.get(TAG_BEST_BASELINE, ""),
        verdict=parent_tags[TAG_VERDICT] if pick == "best" else "",
    )
    return dataclasses.replace(metadata, confirm_seeds=int(seeds) if seeds else None, **gap)
