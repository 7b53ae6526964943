"""Screening: rounds, sites, tubes, swabs, boxes, handovers, receipts, results, recalls."""
