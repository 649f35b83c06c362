"""Courier's local stack: the deployed handlers served on loopback, shaped by template.yaml."""
