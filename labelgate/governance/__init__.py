"""Governance: project settings, approval, erasure, lineage and verification."""
