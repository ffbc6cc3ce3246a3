"""Benchmarks: each module with a ``main(argv)`` prints its figures and the command that
reproduces them. ``python -m bench`` runs them all in turn."""
