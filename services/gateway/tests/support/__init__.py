"""Test support: fakes and fixtures shared by the gateway tests."""
