"""One reader per export format, all producing the same `Conversation` of `Turn`s (conversation.py).

detect.py recognises a file by its shape; telegram.py, chatgpt.py, claude_export.py, sharegpt.py (ShareGPT
and OpenAI messages), alpaca.py and sender_list.py read one format each; records.py hands each record of a
list or JSONL file to its format's reader; json_stream.py streams JSON and JSONL safely (nesting limit,
Ctrl+C); normalise.py trims and filters the dialogs; common.py counts what is skipped and why. dispatch.py
hands each file to its reader, and dataset_report.py writes data/dataset_report.json and the summary.
No torch, transformers or numpy here (tests/test_walls.py).
"""
