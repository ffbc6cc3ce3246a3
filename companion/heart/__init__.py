"""What the heart says: RR cleaning and figures, gaps, coherence, resonance, breath-following."""
