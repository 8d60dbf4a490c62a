"""Prefect flows, thin: each is the ordered list of its steps (tasks.steps) inside one batch lifecycle
(lifecycle), and what a run shows and says lives here too: artifacts, alert events and automations,
progress for the CLI, the schedules' health."""
