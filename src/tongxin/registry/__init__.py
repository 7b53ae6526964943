"""Registry: the area tree, households and residents."""
