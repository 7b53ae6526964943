"""Accounts: users, roles, jurisdictions and sign-in."""
