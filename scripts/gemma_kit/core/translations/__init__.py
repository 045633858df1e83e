"""Message tables, one per language and part of the kit: `ru_<part>.py` holds `MESSAGES = {english: russian}`.

A plural entry is keyed by the singular English text and holds Russian's three forms (1, 2-4, 5+). Keep each
Russian text as a native speaker would write it, not a word-for-word calque; keep the markers of the console
and every {placeholder} the English text has.
"""
