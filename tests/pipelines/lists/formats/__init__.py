"""Tests of pipelines.lists.formats: one module per format family, and report_checks.py for what they share.

Synthetic fixtures use reserved names only (*.test, example.org/.com/.net) and documentation IPs; real lists are
read by test_real_lists.py only.
"""
