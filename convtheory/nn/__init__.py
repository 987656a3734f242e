"""Trainable layers in NumPy/SciPy."""
