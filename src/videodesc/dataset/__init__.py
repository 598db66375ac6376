"""Datasets of human audio description: import, JSON Lines storage, fine-tuning data."""
