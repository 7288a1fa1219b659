"""Checks of the exercises of chapter 2 (being written)."""
