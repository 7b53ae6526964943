"""File formats: Excel and CSV readers and writers shared by the areas."""
