"""The training wing: device/precision choices, Gemma 3n patches, model loading, data collation, Trainer
callbacks, resume bookkeeping and the GPU memory estimate (memory_plan.py).

Used by steps/finetune.py; also by steps/report.py (it loads the base model with the adapter the way training
did, and cuts prompts with the same rule) and steps/doctor.py (the memory estimate, which imports no torch).
No other step imports it. memory_probe.py is for the tests and bench/ only.
"""
