"""Shared fixtures. Server fixtures live in ``tests/fixtures`` as plugins."""

pytest_plugins = ["tests.fixtures.services", "tests.fixtures.s3", "tests.fixtures.demo"]
