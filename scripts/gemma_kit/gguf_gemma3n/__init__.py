"""Gemma 3n -> GGUF, the way llama.cpp's own converter does it, streamed tensor by tensor.

- `gemma3n_table`: the data — Hugging Face -> GGUF tensor names, which tensors stay F32, and llama.cpp's
  hard-coded Gemma 3n constants (an upstream rename is a one-line change there);
- `conversion_plan`: checks a checkpoint against that table and decides every output tensor's name,
  shape, type and sources before a byte is written;
- `model_keys`: the hyper-parameter and general.* keys;
- `vocab_writer`: the SentencePiece token list, special tokens and chat template;
- `tensor_stream`: reads row blocks, converts/quantises them on a thread pool and appends them to the file.

The step that drives them is gemma_kit/steps/convert_gguf.py. (Not named `gguf`: that is the library.)
"""
