"""Scoring reconstructions of two people against ground truth (see ``metrics``)."""
