"""Checks of the exercises of chapter 7 (being written)."""
