"""smvault: custody and continuity of a company's social-media accounts."""

__version__ = "0.1.0"
