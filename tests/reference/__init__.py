"""Helpers that run independent reference implementations (llama.cpp's converter) for comparison tests."""
