"""Readers for conversation exports: one module per format, one for opening files."""
