"""mujun rules engine: rule sets as data, rule kinds, evaluation, results. Knows nothing of HTTP."""
