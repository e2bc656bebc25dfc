"""Pre-flight and upgrade checks of a pair: the registry (ids, steps, gate rules), the engine
that runs them, and one module per group of checks."""
