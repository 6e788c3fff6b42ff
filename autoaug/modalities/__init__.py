"""Modalities: each kind of input data (images, ...) behind one interface."""
