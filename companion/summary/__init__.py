"""The morning summary: the pure figures from a day's sessions, and the advice drawn from them."""
