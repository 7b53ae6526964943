"""Personal-data protection: masking, encryption at rest, keyed lookups and key rotation."""
