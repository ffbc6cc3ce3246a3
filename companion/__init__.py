"""The bedside back-care companion."""

__version__ = "0.1.0"
