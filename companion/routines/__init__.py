"""Exercises, routines, breath pacing, plans and progression; the engine runs the plans."""
