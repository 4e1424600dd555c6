"""Tests of the adapters that are not a chat platform's (the senders' rate limits)."""
