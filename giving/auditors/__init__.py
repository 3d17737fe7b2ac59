"""Auditors' access: time-limited grants to read one campaign's books, reports and evidence.

Its own package because the books (disbursements), the children's registry (impact) and the
reports all ask it whether someone may look, and each of those sits above it.
"""
