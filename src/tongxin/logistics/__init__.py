"""Logistics: drivers, vehicles, trips and route optimisation for supplies and samples."""
