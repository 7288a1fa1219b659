"""Checks of the exercises of chapter 6 (being written)."""
