"""Checks of the exercises of chapter 4 (being written)."""
