"""Gemma 3n fine-tuning kit: chat exports -> QLoRA adapter -> merged checkpoint -> GGUF for LM Studio."""

__version__ = "0.1.0"
