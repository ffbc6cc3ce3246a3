"""Built-in device profiles (TOML data files); loaded by companion.ble.profiles."""
