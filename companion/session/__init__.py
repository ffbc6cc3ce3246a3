"""The session host on the core loop, the thread bridge to it, and the live feed."""
