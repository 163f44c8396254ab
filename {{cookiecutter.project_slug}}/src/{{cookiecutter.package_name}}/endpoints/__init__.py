"""The service's routers; ``main.py`` decides which ones are protected."""
