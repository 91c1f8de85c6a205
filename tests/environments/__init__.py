"""Tests of the umbrella chart, the environments and ``rsp-platform env``."""
