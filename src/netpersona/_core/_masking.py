"""Masking subscriber ids for display: every message, report and file people see."""

from __future__ import annotations


def mask_id(user_id: object) -> str:
    """Mask an id for display: first 3 and last 4 characters kept (``177****3461``).

    Ids of 7 characters or fewer keep only their first character, so a short id is never shown
    whole. Missing ids show as an empty string.

    >>> mask_id("17712343461"), mask_id("u42"), mask_id(None)
    ('177****3461', 'u****', '')
    """
    if user_id is None:
        return ""
    text = str(user_id)
    if len(text) >= 8:
        return f"{text[:3]}****{text[-4:]}"
    if not text:
        return ""
    return f"{text[0]}****"
