"""The ``autoaug`` command with one more op, ``hold``, that keeps each trial waiting where the test wants it.

    python tests/held_search.py GATE_DIR search --space <a space of op hold> ...

The op is registered as users register theirs, so it reaches the Ray workers with the trials. In a
trial (a Ray actor) it writes ``GATE_DIR/arrived-<trial id>`` holding the id of the node it runs on,
then waits until ``GATE_DIR/open`` exists; in the driver (sample grids) it waits for nothing. It
returns the image unchanged. A test can so see where each trial landed and act on a trial that is
known to be running (kill its node, stop the driver) before letting it go on.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import ray
import torch
from ray import tune

from autoaug import register_op
from autoaug.cli import main

GATE = Path(sys.argv[1]).resolve()


@register_op("hold", description="waits until the test opens the gate (test fixture); the image is unchanged")
def hold(image: torch.Tensor, value: float, generator: torch.Generator | None) -> torch.Tensor:
    context = ray.get_runtime_context()
    if context.get_actor_id() is not None:  # a trial, not the driver
        trial = tune.get_context().get_trial_id()
        arrived = GATE / f"arrived-{trial}"
        if not arrived.exists():
            writing = GATE / f"writing-{trial}"
            writing.write_text(context.get_node_id())
            writing.rename(arrived)  # whole or not at all, for the test reading it
        while not (GATE / "open").exists():
            time.sleep(0.2)
    return image


if __name__ == "__main__":
    sys.exit(main(sys.argv[2:]))
