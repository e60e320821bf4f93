"""Answers grounded by construction: the evidence an answer may rest on (``evidence``), the
prompt that gives the model only that evidence (``prompt``), the check of every sentence the
model wrote against it (``verify``) and the answer as delivered (``compose``). Pure functions,
no Django; the pipeline's steps call them."""
