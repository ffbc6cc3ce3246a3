"""Reminders: the pure model (what is due when) and the scheduler that fires them."""
