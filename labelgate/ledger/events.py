"""Ledger event names shared across labelgate (one string constant per kind of event)."""

# --- data and labels (governance) ------------------------------------------------------
ITEM_INGESTED = "item_ingested"
ITEM_QUARANTINED = "item_quarantined"
LABEL_PROPOSED = "label_proposed"
REVIEW_DECISION = "review_decision"
THRESHOLD_CHOSEN = "threshold_chosen"
LABEL_SET_CREATED = "label_set_created"
LABEL_SET_APPROVED = "label_set_approved"
LABEL_SET_REJECTED = "label_set_rejected"
APPROVAL_REFUSED = "approval_refused"
EXPORT_MADE = "export_made"
ITEM_ERASED = "item_erased"

# --- models (issue 5: the models engineer adds its constants in this block) -------------
MODEL_TRAINED = "model_trained"
MODEL_PROMOTED = "model_promoted"
MODEL_NOT_PROMOTED = "model_not_promoted"
MODEL_MARKED_STALE = "model_marked_stale"
RELABEL_DONE = "relabel_done"

# --- trust (issue 12): identities in force, erasure list, commit markers ----------------
IDENTITIES_PINNED = "identities_pinned"  # the identities file in force at first use
IDENTITIES_ACCEPTED = "identities_accepted"  # a steward accepted a changed identities file
ERASURE_LISTED = "erasure_listed"  # an item went on the erasure list (before item_erased)
DATA_COMMITTED = "data_committed"  # a commit marker (kind, key) -> file sha256 was set
GOVERNANCE_ADOPTED = "governance_adopted"  # a pre-issue-12 ledger brought under the above
