"""taxopt: tax-smart rebalancing of a household's accounts toward its goals."""

__version__ = "0.1.0"
