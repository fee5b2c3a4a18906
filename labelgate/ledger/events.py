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
