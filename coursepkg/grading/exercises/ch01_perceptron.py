"""Checks of the exercises of chapter 1 (being written)."""
