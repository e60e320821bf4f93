"""The worker's compliance pipeline: ``run.py`` claims an inquiry and runs the steps in order,
one module per step. Only the task module imports it, so the web process never loads the
models' libraries."""
