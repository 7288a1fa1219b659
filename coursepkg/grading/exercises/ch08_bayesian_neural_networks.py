"""Checks of the exercises of chapter 8 (being written)."""
