"""mujun HTTP API, CLI and storage: the adapter layer over gis/ and rules/."""
