"""Policy files: write one, read one back (validated, never more than a policy file's size)."""

from __future__ import annotations

from pathlib import Path

from autoaug.errors import PolicyError
from autoaug.policy._model import MAX_POLICY_BYTES, TOO_LARGE, Policy


def save_policy(policy: Policy, path: str | Path) -> None:
    """Write ``policy`` as a JSON policy file."""
    Path(path).write_text(policy.to_json(), encoding="utf-8")


def read_policy(path: str | Path, name: str = "") -> Policy:
    """Read and validate a JSON policy file (a version-1 file, which names no modality, is an image policy).

    Raises:
        PolicyError: If the file cannot be read, is larger than :data:`MAX_POLICY_BYTES`, or is not a valid
            policy; the message names the file (or ``name``, where the file came from, when given).
    """
    name = name or str(path)
    try:
        with Path(path).open("rb") as file:
            raw = file.read(MAX_POLICY_BYTES + 1)  # never more: the file may be anything
        if len(raw) > MAX_POLICY_BYTES:
            raise PolicyError(f"{name}: {TOO_LARGE}")
        text = raw.decode("utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise PolicyError(f"{name}: cannot read the policy file ({error})") from None
    return Policy.from_json(text, source=name)
