"""Pipeline steps as plain functions (parse, validate, load, compute), wrapped as Prefect tasks in
tasks.prefect_tasks so flows stay thin and the functions stay easy to test."""
