"""The mujun store: models, engines, import, and the queries the API and CLI use."""
