"""Pictures of bodies for people to look at (CPU, matplotlib)."""
