"""Payments: donation intents, Stripe Checkout (or the offline sandbox) and Stripe webhooks.

Money only becomes real in the ledger: a donation intent is what a donor asked for, and it is
the webhook handlers that record the paid charge, its processor fee and any refund or
dispute as ledger entries, idempotently by external reference (DESIGN §4).
"""
