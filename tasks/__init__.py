"""The pipeline's steps as plain functions on frames: landing, parse, validate (the quality gate),
compute, evaluate, rank, report. `tasks.steps` wraps each as a Prefect task with its retry policy;
everything else here knows nothing of Prefect and builds no SQL (the warehouse does)."""
