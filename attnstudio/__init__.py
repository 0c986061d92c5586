"""attnstudio: see every number of self-attention, edit it, and watch it recompute."""

__version__ = "0.1.0"
