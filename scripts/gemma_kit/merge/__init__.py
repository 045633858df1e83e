"""The merge wing: adding a LoRA adapter into a safetensors checkpoint without building a model.

lora_adapter.py reads a peft adapter folder and maps each A/B pair onto a checkpoint weight; lora_math.py is the
block-by-block arithmetic (numpy, float32); shard_writer.py plans and writes the merged shards. Used by the
merge-lora step only; imports core, never a step, torch or transformers.
"""
