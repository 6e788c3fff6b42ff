"""Proving a policy: fine-tunes under it and the baselines over several seeds, reported and recorded."""
