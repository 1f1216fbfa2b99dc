"""Datasets: the MEAD-layout reader, splits and the derived-feature cache."""
