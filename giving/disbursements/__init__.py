"""Disbursements: budgets, evidenced spending requests, approvals, and where donations went."""
