"""Accountability reports (PDF), transparency exports (CSV, IATI XML), auditors and sign-offs."""
