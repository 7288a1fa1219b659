"""Checks of the exercises of chapter 5 (being written)."""
