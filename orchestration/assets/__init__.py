"""Asset definitions, one module per layer."""
