"""The parts of the finetune step: device/precision choices, Gemma 3n patches, model loading, data collation,
Trainer callbacks and resume bookkeeping. Imported only by steps/finetune.py (and its tests and bench)."""
