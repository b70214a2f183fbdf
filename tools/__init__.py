"""Laptop-side tools: deploy, the 32-bit MicroPython build. Never on a board."""
