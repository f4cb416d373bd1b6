"""Tests of censorscope.cost: methods, economy data, estimates and their traces, the CLI, events."""
