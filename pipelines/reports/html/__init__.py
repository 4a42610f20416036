"""The HTML report of a snapshot: one self-contained page of plots and numbers (see page.py)."""
