"""IVOA TAP 1.1 service of the science platform."""
