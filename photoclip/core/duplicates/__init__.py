"""Duplicates: the same photo saved twice, and near-identical shots (lib.duplicates)."""
