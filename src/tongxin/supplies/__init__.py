"""Supplies: donors, donations, warehouses, the stock ledger, packages and allocations."""
