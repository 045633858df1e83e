"""Voice messages to text: decoding the audio (decode.py) and Gemma 3n's own audio encoder (transcriber.py)."""
