"""Mutation testing of the rules that decide money (``python -m tests.mutation``)."""
