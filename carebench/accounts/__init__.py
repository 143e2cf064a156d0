"""Accounts: users, roles, MFA, session time-outs, API tokens."""
