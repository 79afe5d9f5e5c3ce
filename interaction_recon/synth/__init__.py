"""Synthetic two-person close-interaction world with ground truth."""
