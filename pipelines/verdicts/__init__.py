"""Verdicts: what the lists decided about each URL of a snapshot (with a stable id, the evidence and a state),
flood quarantine, and the review that confirms or rejects them, recorded in an append-only audit log."""

from pipelines.verdicts.audit import SYSTEM_REVIEWER, audit_entries
from pipelines.verdicts.derive import VerdictSummary, refresh_verdicts
from pipelines.verdicts.diff import CHANGES, SnapshotDiff, diff_snapshots, previous_snapshot
from pipelines.verdicts.identity import VERDICT_ID_SQL, verdict_id
from pipelines.verdicts.quarantine import DEFAULT_FLOOD_FACTOR, DEFAULT_FLOOD_URLS, Flood, FloodPolicy
from pipelines.verdicts.queries import UnknownState, VerdictPage, list_verdicts, show_verdict
from pipelines.verdicts.review import (
    CONFIRM_SCOPES,
    REASONS,
    ReviewOutcome,
    ReviewRefused,
    UnknownVerdict,
    confirm,
    reject,
    undo,
)
from pipelines.verdicts.states import EXPORTED_STATES, REVIEW_STATES, SCOPES, STATES, apply_rules

__all__ = [
    "CHANGES",
    "SnapshotDiff",
    "diff_snapshots",
    "CONFIRM_SCOPES",
    "DEFAULT_FLOOD_FACTOR",
    "DEFAULT_FLOOD_URLS",
    "EXPORTED_STATES",
    "Flood",
    "FloodPolicy",
    "REASONS",
    "REVIEW_STATES",
    "ReviewOutcome",
    "ReviewRefused",
    "SCOPES",
    "STATES",
    "SYSTEM_REVIEWER",
    "UnknownState",
    "UnknownVerdict",
    "VERDICT_ID_SQL",
    "VerdictPage",
    "VerdictSummary",
    "apply_rules",
    "audit_entries",
    "confirm",
    "list_verdicts",
    "previous_snapshot",
    "refresh_verdicts",
    "reject",
    "show_verdict",
    "undo",
    "verdict_id",
]
