"""varwheel.providers"""
