"""What reads Lean text without a database: the lexer, the declaration walker and locator, and the
proof splice that the re-check, the patch and the review preview share.

This package sits below `db` (see tests/test_layers.py): it imports only the base modules.
"""
