"""Shared test code: builders, fakes and lab access, imported by the tests."""
