"""Cookiecutter hooks, importable so tests/test_hooks.py can unit-test their functions."""
